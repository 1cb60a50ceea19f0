"""The catalogue of quality reasons: stable codes with English and Bahasa Indonesia sentences."""

from __future__ import annotations

from quality.base import Reason

_CATALOGUE: dict[str, tuple[str, str]] = {
    # Any modality
    "INVALID_IMAGE": (
        "The image could not be read. Capture again.",
        "Gambar tidak dapat dibaca. Ambil ulang.",
    ),
    # Fingerprint
    "NO_FINGER": (
        "No finger on the scanner. Place the finger flat on the glass.",
        "Tidak ada jari pada pemindai. Letakkan jari rata di atas kaca.",
    ),
    "FINGER_TOO_LIGHT": (
        "The print is too faint: press more firmly.",
        "Sidik jari terlalu samar: tekan lebih kuat.",
    ),
    "FINGER_TOO_HEAVY": (
        "The print is too dark: press more lightly.",
        "Sidik jari terlalu gelap: tekan lebih pelan.",
    ),
    "FINGER_SMUDGED": (
        "The print is smudged: wipe the finger and the scanner glass, then try again.",
        "Sidik jari kabur: bersihkan jari dan kaca pemindai, lalu coba lagi.",
    ),
    "FINGER_DRY": (
        "The ridges are broken (dry skin): breathe on or moisten the finger and try again.",
        "Guratan terputus (kulit kering): lembapkan jari lalu coba lagi.",
    ),
    "FINGER_PARTIAL": (
        "Only part of the finger is on the scanner: place it in the centre.",
        "Hanya sebagian jari di pemindai: letakkan jari di tengah.",
    ),
    "FINGER_UNCLEAR_RIDGES": (
        "The ridges are unclear: clean the finger, press evenly and try again.",
        "Guratan tidak jelas: bersihkan jari, tekan merata lalu coba lagi.",
    ),
    "FINGER_LOW_QUALITY": (
        "The print quality is low: capture again.",
        "Kualitas sidik jari rendah: ambil ulang.",
    ),
    # Face
    "NO_FACE": (
        "No face found: ask the resident to face the camera.",
        "Wajah tidak ditemukan: minta penduduk menghadap kamera.",
    ),
    "MULTIPLE_FACES": (
        "More than one face in the picture: only the resident may be in front of the camera.",
        "Lebih dari satu wajah dalam gambar: hanya penduduk yang boleh di depan kamera.",
    ),
    "FACE_TOO_SMALL": (
        "The face is too small: move the camera closer or zoom in.",
        "Wajah terlalu kecil: dekatkan kamera atau perbesar.",
    ),
    "FACE_TOO_LARGE": (
        "The face is too large: move the camera back.",
        "Wajah terlalu besar: jauhkan kamera.",
    ),
    "FACE_NOT_CENTRED": (
        "The face is not centred: ask the resident to move to the middle of the frame.",
        "Wajah tidak di tengah: minta penduduk bergeser ke tengah bingkai.",
    ),
    "FACE_TILTED": (
        "The head is tilted: ask the resident to hold the head straight.",
        "Kepala miring: minta penduduk menegakkan kepala.",
    ),
    "FACE_BLURRED": (
        "The photo is blurred: hold still and check the camera focus.",
        "Foto kabur: tetap diam dan periksa fokus kamera.",
    ),
    "FACE_TOO_DARK": (
        "The photo is too dark: add light in front of the resident.",
        "Foto terlalu gelap: tambahkan cahaya di depan penduduk.",
    ),
    "FACE_TOO_BRIGHT": (
        "The photo is overexposed: reduce the light or the camera exposure.",
        "Foto terlalu terang: kurangi cahaya atau pencahayaan kamera.",
    ),
    "FACE_LOW_CONTRAST": (
        "The photo has too little contrast: check the lighting.",
        "Kontras foto terlalu rendah: periksa pencahayaan.",
    ),
    "FACE_UNEVEN_LIGHT": (
        "The face is unevenly lit: light both sides of the face equally.",
        "Pencahayaan wajah tidak merata: terangi kedua sisi wajah sama rata.",
    ),
    "EYES_NOT_VISIBLE": (
        "The eyes are not visible: remove glasses and uncover the eyes and forehead.",
        "Mata tidak terlihat: lepas kacamata dan buka mata serta dahi.",
    ),
    "BACKGROUND_NOT_UNIFORM": (
        "The background is not plain: use the backdrop and keep objects out of the frame.",
        "Latar belakang tidak polos: gunakan kain latar dan jauhkan benda dari bingkai.",
    ),
    "WRONG_BACKGROUND_COLOUR": (
        "Wrong background colour for birth year {birth_year}: use {expected}.",
        "Warna latar belakang salah untuk tahun lahir {birth_year}: gunakan {expected_id}.",
    ),
    # Iris
    "EYE_NOT_FOUND": (
        "No open eye found: ask the resident to open the eyes and look at the camera.",
        "Mata terbuka tidak ditemukan: minta penduduk membuka mata dan melihat ke kamera.",
    ),
    "IRIS_TOO_SMALL": (
        "The iris is too small: bring the camera closer to the eyes.",
        "Iris terlalu kecil: dekatkan kamera ke mata.",
    ),
    "IRIS_TOO_LARGE": (
        "The iris is too large: move the camera back a little.",
        "Iris terlalu besar: jauhkan kamera sedikit.",
    ),
    "IRIS_NOT_CENTRED": (
        "The eye is too close to the image edge: centre the eyes in the camera.",
        "Mata terlalu dekat ke tepi gambar: posisikan mata di tengah kamera.",
    ),
    "IRIS_OCCLUDED": (
        "The iris is covered by the eyelids: ask the resident to open the eyes wide.",
        "Iris tertutup kelopak mata: minta penduduk membuka mata lebar-lebar.",
    ),
    "IRIS_REFLECTIONS": (
        "Reflections cover the iris: remove glasses and shade the eyes from windows and lamps.",
        "Pantulan cahaya menutupi iris: lepas kacamata dan lindungi mata dari jendela dan lampu.",
    ),
    "IRIS_BLURRED": (
        "The iris image is blurred: hold still at the focus distance.",
        "Gambar iris kabur: tetap diam pada jarak fokus.",
    ),
    "IRIS_LOW_CONTRAST": (
        "The iris has too little contrast: check the infrared light and shield from sunlight.",
        "Kontras iris terlalu rendah: periksa lampu inframerah dan hindari sinar matahari.",
    ),
    "PUPIL_DILATION": (
        "The pupil size is out of range: adjust the room light and capture again.",
        "Ukuran pupil di luar batas: sesuaikan cahaya ruangan lalu ambil ulang.",
    ),
    "IRIS_OFF_AXIS": (
        "The eye is not looking straight at the camera: ask the resident to look at the lens.",
        "Mata tidak menatap lurus ke kamera: minta penduduk melihat ke lensa.",
    ),
    # Signature
    "SIGNATURE_BLANK": (
        "The signature is empty: ask the resident to sign on the pad.",
        "Tanda tangan kosong: minta penduduk menandatangani pada bantalan.",
    ),
    "SIGNATURE_TOO_FEW_POINTS": (
        "The signature has too few points: sign again, slowly.",
        "Tanda tangan terlalu sedikit titik: tanda tangan ulang dengan perlahan.",
    ),
    "SIGNATURE_TOO_SHORT": (
        "The signature was too quick: sign again with the full signature.",
        "Tanda tangan terlalu singkat: tanda tangan ulang secara lengkap.",
    ),
    "SIGNATURE_TOO_SMALL": (
        "The signature is too small: sign larger, using the signing area.",
        "Tanda tangan terlalu kecil: tanda tangan lebih besar di area tanda tangan.",
    ),
    "SIGNATURE_SINGLE_STROKE": (
        "The pen was never lifted: a single line is accepted only as an exception.",
        "Pena tidak pernah diangkat: satu garis hanya diterima sebagai pengecualian.",
    ),
    "SIGNATURE_OUT_OF_PAD": (
        "Part of the signature is outside the pad: sign inside the signing area.",
        "Sebagian tanda tangan di luar bantalan: tanda tangan di dalam area tanda tangan.",
    ),
}

_COLOUR_ID = {"red": "merah", "blue": "biru"}


def reason(code: str, **values: object) -> Reason:
    """The catalogue's reason for ``code``, with ``{placeholders}`` filled from ``values``."""
    en, id_ = _CATALOGUE[code]
    if "expected" in values:
        expected = str(values["expected"])
        values.setdefault("expected_id", _COLOUR_ID.get(expected, expected))
    return Reason(code=code, en=en.format(**values), id=id_.format(**values))


def codes() -> tuple[str, ...]:
    """Every reason code the quality engine can return."""
    return tuple(_CATALOGUE)
