"""Sealing, durable outbox, delivery and status tracking of enrollment records.

- ``uploader.content``: the record the station fills in (Subject, ImageSample, ...).
- ``uploader.nist``: the ANSI/NIST-ITL 1-2011 transaction (Type-1/2/8/10/14/17).
- ``uploader.keys``: station signing keys (Ed25519 files, or ECDSA P-256 in a TPM through
  ``uploader.tpm``) and the centre's hybrid ML-KEM-768 + X25519 sealing key.
- ``uploader.package``: ``seal``, ``open_package``, ``verify_package``; errors in
  ``uploader.errors``.
- ``uploader.outbox``: the SQLite + file outbox and record states.
- ``uploader.centre_client``, ``uploader.delivery``, ``uploader.tracker``,
  ``uploader.service.Uploader``: delivery with retry and status tracking.
- ``uploader.sink``: the Sink protocol and its neutral DeliveryResult; ``uploader.sink_registry``:
  sinks by name from the ``rekam.sinks`` entry-point group (``centre``, ``s3`` in
  ``uploader.s3``, ``bundle`` in ``uploader.bundle_sink``).
"""
