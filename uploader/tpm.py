"""The station's identity in a TPM 2.0: a signing key that never leaves it, a secret it seals.

Rekam talks to the TPM through tpm2-pytss (the TSS 2.0 Enhanced System API) over a TCTI:
``device:/dev/tpmrm0`` (the kernel's resource manager) on a kit, ``swtpm:host=127.0.0.1,port=N``
against the swtpm emulator in tests. Every object is a child of the owner hierarchy's storage
primary key, which the TPM re-derives at every start from its own seed and a fixed template, so
the key directory holds only the children's blobs:

- ``station_p256.tpm``: the signing key (ECDSA P-256, SHA-256), created inside the TPM with the
  attributes fixedTPM | fixedParent | sensitiveDataOrigin, so its private half never exists
  outside it. ``station_p256.pub.pem`` is its public key.
- ``journal.sealed``: the journal key, a 32-byte keyed-hash ("sealed data") object, fixedTPM |
  fixedParent, unsealed once at start.

A blob is ``TPM2B_PUBLIC || TPM2B_PRIVATE`` as the TPM marshals them (TPM 2.0 Part 2, 12.2.5 and
12.3.7): the private part is encrypted and integrity-protected by the TPM with a key derived from
the primary's seed, which no TPM but this one holds. A copy of the key directory is therefore
useless without the TPM it came from. The unseal runs in an encrypted session salted with the
primary key, so the journal key never crosses the bus in the clear.

References: TCG TPM 2.0 Library Part 1 (protected storage hierarchy, 23 "Protected Storage") and
Part 3 (TPM2_Create, TPM2_Load, TPM2_Sign, TPM2_Unseal); tpm2-pytss's ESAPI documentation;
tpm2-tools' tpm2_createprimary/tpm2_create man pages for the templates.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from tpm2_pytss import ESAPI, TCTILdr, TSS2_Exception
from tpm2_pytss.constants import (
    ESYS_TR,
    TPM2_ALG,
    TPM2_RH,
    TPM2_SE,
    TPM2_ST,
    TPMA_OBJECT,
    TPMA_SESSION,
)
from tpm2_pytss.types import (
    TPM2B_DIGEST,
    TPM2B_PRIVATE,
    TPM2B_PUBLIC,
    TPM2B_SENSITIVE_CREATE,
    TPM2B_SENSITIVE_DATA,
    TPMS_SENSITIVE_CREATE,
    TPMT_SIG_SCHEME,
    TPMT_SYM_DEF,
    TPMT_TK_HASHCHECK,
)

from domain.files import write_durably
from uploader.keys import ECDSA_P256_SHA256, KeyFileError, key_id, public_pem

SIGNING_KEY_FILE = "station_p256.tpm"
SIGNING_PUBLIC_FILE = "station_p256.pub.pem"
JOURNAL_SEALED_FILE = "journal.sealed"
SEALED_SECRET_BYTES = 32
DEFAULT_TCTI = "device:/dev/tpmrm0"

# The storage primary key: ECC P-256 with AES-128-CFB, restricted decrypt (the tpm2-tools default
# for tpm2_createprimary, which also matches the TCG provisioning guidance's SRK template).
_PRIMARY_TEMPLATE = ("ecc256:aes128cfb", TPMA_OBJECT.DEFAULT_TPM2_TOOLS_CREATEPRIMARY_ATTRS)
_SIGNING_TEMPLATE = (
    "ecc256:ecdsa-sha256",
    TPMA_OBJECT.FIXEDTPM
    | TPMA_OBJECT.FIXEDPARENT
    | TPMA_OBJECT.SENSITIVEDATAORIGIN
    | TPMA_OBJECT.USERWITHAUTH
    | TPMA_OBJECT.SIGN_ENCRYPT,
)
_SEALED_TEMPLATE = (
    "keyedhash",
    TPMA_OBJECT.FIXEDTPM | TPMA_OBJECT.FIXEDPARENT | TPMA_OBJECT.USERWITHAUTH,
)


class TpmError(Exception):
    """The TPM cannot be reached, or refuses a key blob (made by another TPM, or damaged)."""


def _template(spec: tuple[str, TPMA_OBJECT]) -> TPM2B_PUBLIC:
    return TPM2B_PUBLIC.parse(spec[0], objectAttributes=spec[1])


class Tpm:
    """One connection to a TPM and its storage primary key; calls are serialised."""

    def __init__(self, tcti: str = DEFAULT_TCTI) -> None:
        name, _, config = tcti.partition(":")
        self._lock = threading.Lock()
        self._loaded: list[ESYS_TR] = []
        try:
            self._tcti = TCTILdr(name, config or None)
            self._esapi = ESAPI(self._tcti)
            self._primary, *_ = self._esapi.create_primary(
                TPM2B_SENSITIVE_CREATE(), _template(_PRIMARY_TEMPLATE), ESYS_TR.OWNER
            )
        except TSS2_Exception as exc:
            raise TpmError(f"cannot use the TPM at {tcti!r}: {exc}") from exc

    def close(self) -> None:
        """Unload every object this connection loaded, then disconnect."""
        with self._lock:
            for handle in [*self._loaded, self._primary]:
                with contextlib.suppress(TSS2_Exception):  # a TPM already gone has none
                    self._esapi.flush_context(handle)
            self._loaded.clear()
            self._esapi.close()
            self._tcti.close()

    def __enter__(self) -> Tpm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load_or_create(
        self, path: Path, template: tuple[str, TPMA_OBJECT], secret: bytes | None = None
    ) -> tuple[ESYS_TR, TPM2B_PUBLIC]:
        """Load the object whose blob is at ``path``; create it (holding ``secret`` when one is
        given) and write its blob there first if there is none."""
        with self._lock:
            if not path.exists():
                sensitive = TPM2B_SENSITIVE_CREATE(
                    TPMS_SENSITIVE_CREATE(data=TPM2B_SENSITIVE_DATA(secret or b""))
                )
                try:
                    private, public, *_ = self._esapi.create(
                        self._primary, sensitive, _template(template)
                    )
                except TSS2_Exception as exc:
                    raise TpmError(f"the TPM could not create {path.name}: {exc}") from exc
                write_durably(path, public.marshal() + private.marshal(), mode=0o600)
            blob = path.read_bytes()
            try:
                public, offset = TPM2B_PUBLIC.unmarshal(blob)
                private, end = TPM2B_PRIVATE.unmarshal(blob[offset:])
                if offset + end != len(blob):
                    raise TpmError(f"{path} has bytes after its key blob")
                handle = self._esapi.load(self._primary, private, public)
            except TSS2_Exception as exc:
                raise TpmError(
                    f"this TPM refuses {path}: the blob was made by another TPM or is damaged "
                    f"({exc})"
                ) from exc
            self._loaded.append(handle)
            return handle, public

    def sign_digest(self, handle: ESYS_TR, digest: bytes) -> bytes:
        """TPM2_Sign over a SHA-256 digest with the key's own scheme; ``r || s`` (64 bytes)."""
        with self._lock:
            signature = self._esapi.sign(
                handle,
                TPM2B_DIGEST(digest),
                TPMT_SIG_SCHEME(scheme=TPM2_ALG.NULL),
                TPMT_TK_HASHCHECK(tag=TPM2_ST.HASHCHECK, hierarchy=TPM2_RH.NULL),
            )
        ecdsa = signature.signature.ecdsa
        return bytes(ecdsa.signatureR).rjust(32, b"\0") + bytes(ecdsa.signatureS).rjust(32, b"\0")

    def unseal(self, handle: ESYS_TR) -> bytes:
        """TPM2_Unseal in a session salted with the primary key, its response encrypted; the
        sealed object is unloaded afterwards."""
        with self._lock:
            session = self._esapi.start_auth_session(
                tpm_key=self._primary,
                bind=ESYS_TR.NONE,
                session_type=TPM2_SE.HMAC,
                symmetric=TPMT_SYM_DEF(
                    algorithm=TPM2_ALG.AES,
                    keyBits={"aes": 128},
                    mode={"aes": TPM2_ALG.CFB},
                ),
                auth_hash=TPM2_ALG.SHA256,
            )
            try:
                self._esapi.trsess_set_attributes(
                    session, TPMA_SESSION.CONTINUESESSION | TPMA_SESSION.ENCRYPT
                )
                return bytes(self._esapi.unseal(handle, session1=session))
            finally:
                self._esapi.flush_context(session)
                self._esapi.flush_context(handle)
                self._loaded.remove(handle)


class TpmStationKey:
    """The station's ECDSA P-256 signing key, held by the TPM (a :class:`StationSigner`)."""

    algorithm = ECDSA_P256_SHA256

    def __init__(self, tpm: Tpm, handle: ESYS_TR, public_key: ec.EllipticCurvePublicKey) -> None:
        self._tpm = tpm
        self._handle = handle
        self.public_key = public_key
        self.key_id = key_id(public_key)

    def public_pem(self) -> bytes:
        return public_pem(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self._tpm.sign_digest(self._handle, hashlib.sha256(data).digest())

    @classmethod
    def load_or_create(cls, tpm: Tpm, directory: Path) -> TpmStationKey:
        """The key whose blob is in ``directory`` (created in the TPM on first use)."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, public = tpm.load_or_create(directory / SIGNING_KEY_FILE, _SIGNING_TEMPLATE)
        key = load_pem_public_key(public.to_pem())
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise KeyFileError(f"{directory / SIGNING_KEY_FILE} is not an EC P-256 key")
        public_path = directory / SIGNING_PUBLIC_FILE
        if not public_path.exists() or public_path.read_bytes() != public_pem(key):
            write_durably(public_path, public_pem(key), mode=0o644)
        return cls(tpm, handle, key)


class TpmSealedKey:
    """A 32-byte secret sealed by the TPM (the journal key): a journal key provider."""

    def __init__(self, tpm: Tpm, path: Path) -> None:
        self._tpm = tpm
        self.path = path

    def journal_key(self) -> bytes:
        """Unseal the secret; on first use a fresh one is sealed and its blob written."""
        secret = None if self.path.exists() else os.urandom(SEALED_SECRET_BYTES)
        handle, _public = self._tpm.load_or_create(self.path, _SEALED_TEMPLATE, secret)
        key = self._tpm.unseal(handle)
        if len(key) != SEALED_SECRET_BYTES:
            raise TpmError(f"{self.path} unseals to {len(key)} bytes, not {SEALED_SECRET_BYTES}")
        return key
