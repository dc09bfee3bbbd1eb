"""Deploy sources: deploy log files, CodeDeploy, CloudTrail and GitHub Deployments."""
