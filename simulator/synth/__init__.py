"""Synthetic biometrics with known ground truth: fingerprints, irises, faces, signatures."""

from simulator.synth.face import FaceKnobs, FaceTruth, face_truth, render_face
from simulator.synth.fingerprint import (
    FingerKnobs,
    FingerSpec,
    finger_master,
    quantise_4bit,
    render_capture,
)
from simulator.synth.iris import (
    IrisKnobs,
    IrisSpec,
    IrisTruth,
    eye_truth,
    render_both_eyes,
    render_eye,
)
from simulator.synth.signature import SignatureKnobs, make_signature, to_pen_reports

__all__ = [
    "FaceKnobs",
    "FaceTruth",
    "FingerKnobs",
    "FingerSpec",
    "IrisKnobs",
    "IrisSpec",
    "IrisTruth",
    "SignatureKnobs",
    "eye_truth",
    "face_truth",
    "finger_master",
    "make_signature",
    "quantise_4bit",
    "render_both_eyes",
    "render_capture",
    "render_eye",
    "render_face",
    "to_pen_reports",
]
