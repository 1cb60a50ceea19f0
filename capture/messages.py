"""Operator-facing sentences of the capture workflow, in English and Bahasa Indonesia."""

from __future__ import annotations

from drivers.errors import OperatorText

POSITION_NAMES: dict[str, OperatorText] = {
    "right_thumb": OperatorText("right thumb", "ibu jari kanan"),
    "right_index": OperatorText("right index finger", "jari telunjuk kanan"),
    "right_middle": OperatorText("right middle finger", "jari tengah kanan"),
    "right_ring": OperatorText("right ring finger", "jari manis kanan"),
    "right_little": OperatorText("right little finger", "jari kelingking kanan"),
    "left_thumb": OperatorText("left thumb", "ibu jari kiri"),
    "left_index": OperatorText("left index finger", "jari telunjuk kiri"),
    "left_middle": OperatorText("left middle finger", "jari tengah kiri"),
    "left_ring": OperatorText("left ring finger", "jari manis kiri"),
    "left_little": OperatorText("left little finger", "jari kelingking kiri"),
    "right_eye": OperatorText("right eye", "mata kanan"),
    "left_eye": OperatorText("left eye", "mata kiri"),
    "face": OperatorText("face photo", "foto wajah"),
    "signature": OperatorText("signature", "tanda tangan"),
}

INSTRUCTIONS: dict[str, OperatorText] = {
    "PLACE_FINGER": OperatorText(
        "Place the {en} flat on the scanner.", "Letakkan {id} rata di atas pemindai."
    ),
    "LOOK_AT_CAMERA": OperatorText(
        "Look straight at the camera, mouth closed, no glasses.",
        "Lihat lurus ke kamera, mulut tertutup, tanpa kacamata.",
    ),
    "LOOK_AT_IRIS_CAMERA": OperatorText(
        "Look into the iris camera and keep both eyes wide open.",
        "Lihat ke kamera iris dan buka kedua mata lebar-lebar.",
    ),
    "LIFT_FINGER": OperatorText("Lift the {en} from the scanner.", "Angkat {id} dari pemindai."),
    "SIGN": OperatorText("Sign on the signature pad.", "Tanda tangani pada bantalan tanda tangan."),
    "HOLD_STILL": OperatorText("Hold still.", "Tahan, jangan bergerak."),
}


def instruction(code: str, position: str) -> OperatorText:
    """The prompt sentence for ``code`` with the position's name filled in."""
    template = INSTRUCTIONS[code]
    name = POSITION_NAMES[position]
    return OperatorText(template.en.format(en=name.en), template.id.format(id=name.id))


def position_list(positions: list[str]) -> OperatorText:
    """A comma-separated list of position names in both languages."""
    return OperatorText(
        ", ".join(POSITION_NAMES[p].en for p in positions),
        ", ".join(POSITION_NAMES[p].id for p in positions),
    )
