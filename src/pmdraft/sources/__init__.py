"""The sources pmdraft reads: one package each, found and registered by :mod:`.registry`.

Shared boundaries live beside them: :mod:`.base` (the ``Collector`` protocol), ``_http`` and
``_aws`` (retries, limits, scrubbing and error translation for every HTTP and AWS API).
"""
