"""Quality thresholds and settings. Defaults suit the kit's devices; the station's configuration
file may override any of them through ``QualityConfig.from_mapping`` (see ``domain.settings``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.settings import Settings


@dataclass(frozen=True)
class FingerprintConfig(Settings):
    """Fingerprint (500 ppi grey) thresholds and the settings of the live measures."""

    # The per-frame score that drives the preview and auto-capture. That score is NFIQ 2's own
    # forest on fast measures (quality/fingerprint.py), so its threshold is on NFIQ 2's scale,
    # at min_nfiq2.
    min_score: int = 35
    # The kept capture's NFIQ 2 score (ISO/IEC 29794-4) at or above which it is accepted. NIST
    # publishes no universal NFIQ 2 threshold; 35 keeps the ~40-60 that clean plain prints on
    # a small optical sensor score and refuses what NFIQ 2 rates poor (docs/configuration.md).
    min_nfiq2: int = 35
    foreground_min_std: float = 14.0  # grey-level std of a 16x16 tile that holds ridges
    no_finger_area: float = 5900.0  # foreground pixels (~15 mm²) below which there is no finger
    partial_area: float = 22000.0  # below this (~57 mm²) only part of the finger touched
    too_dark_mean: float = 95.0  # foreground mean below this: pressed too hard
    dark_tile_drop: float = 70.0  # a tile this much darker than the platen is finger, too
    too_light_contrast: float = 60.0  # ridge/valley contrast below this: too faint
    full_contrast: float = 160.0  # ridge/valley grey difference that earns full credit
    light_mean: float = 172.0  # foreground mean above this: too light or too dry
    dry_certainty: float = 0.8  # broken (dry) ridges lower the orientation certainty
    ridgeless_certainty: float = 0.4  # raw OCL of ridgeless skin (scar tissue, smears): 0
    clear_certainty: float = 1.0  # raw OCL of perfectly straight, clean ridges: 1
    # Foreground mean grey: full credit between the two "good" levels, none beyond the "bad".
    mean_dark_bad: float = 50.0
    mean_dark_good: float = 130.0
    mean_light_good: float = 180.0
    mean_light_bad: float = 245.0
    min_ridge_period: float = 5.0  # pixels
    max_ridge_period: float = 15.0


@dataclass(frozen=True)
class FaceConfig(Settings):
    """Face-photo (ICAO-style) thresholds. Sizes are fractions of the frame unless in pixels."""

    min_score: int = 50
    detect_width: int = 256  # the frame is scaled to this width before detection
    detect_scale_factor: float = 1.2  # Haar pyramid step: larger is faster, coarser
    min_inter_eye_px: float = 60.0  # in the original frame
    min_face_width: float = 0.22  # face box width / frame width
    # The face search looks for faces down to this share of the frame width (smaller faces cost
    # the most to search for). When it finds none, or only one narrower than min_face_width,
    # smaller faces are looked for on the frame scaled to group_search_width (0: never), so that
    # the people of a group photo standing back are counted (MULTIPLE_FACES, not NO_FACE).
    min_detected_face_width: float = 0.18
    group_search_width: int = 448
    group_search_scale_factor: float = 1.3  # its pyramid step: coarser than the main search
    max_face_width: float = 0.60
    max_centre_offset_x: float = 0.12  # face centre from frame centre, fraction of width
    max_centre_offset_y: float = 0.15
    max_roll_degrees: float = 8.0
    min_sharpness: float = 0.5  # Laplacian energy of the face at 64 px wide, over its contrast
    min_mean: float = 70.0  # face luminance
    max_mean: float = 200.0
    min_dynamic_range: float = 90.0  # grey levels between the 2nd and 98th percentile
    max_illumination_ratio: float = 1.6  # brighter / darker face half
    max_background_std: float = 22.0
    min_background_saturation: float = 70.0  # HSV saturation of a proper red or blue backdrop
    # HSV value (brightness) of a lit red or blue backdrop: a dark brown is a dim, saturated
    # orange-red, so hue and saturation alone would take it for red. Half credit at 80% of it.
    min_background_value: float = 140.0
    # Backdrop hue (OpenCV 0..180) distance from the required red (0) or blue (110): full credit
    # within the first, none beyond the second; the reason is given halfway.
    background_hue_good: float = 12.0
    background_hue_bad: float = 65.0
    # A second face costs more the larger it is next to the resident's (its width ratio).
    second_face_tolerated: float = 0.3
    second_face_worst: float = 0.9
    require_eyes: bool = True
    # The least share of the score a failing rule leaves, so that a photo failing one rule still
    # ranks above one failing many and above a frame with no face (which scores 0). Any reason
    # keeps the score below min_score.
    failed_rule_floor: float = 0.3


@dataclass(frozen=True)
class IrisConfig(Settings):
    """Iris (NIR, one eye) thresholds after ISO/IEC 29794-6."""

    min_score: int = 50
    analysis_width: int = 320  # segmentation runs on the eye scaled to this width
    min_iris_radius: float = 80.0  # pixels in the original image (ISO: diameter >= 150)
    max_iris_radius: float = 200.0
    arc_above_deg: float = 30.0  # outer boundary searched on lateral arcs up to this far up
    arc_below_deg: float = 40.0  # ... and down (the upper lid covers more)
    min_pupil_iris_ratio: float = 0.20
    max_pupil_iris_ratio: float = 0.70
    min_iris_sclera_contrast: float = 5.0  # percent
    min_iris_pupil_contrast: float = 30.0  # percent
    max_concentricity: float = 0.10  # centre distance / iris radius
    # Margins refused as IRIS_NOT_CENTRED, fractions of the iris radius: beside the iris, and
    # above/below the part of it the lids leave open (ISO/IEC 19794-6 recommends 0.6 and 0.2
    # for cropped images; margin_adequacy is scored against those).
    min_margin: float = 0.2
    min_margin_vertical: float = 0.1
    min_usable_area: float = 0.70
    reflection_margin: float = 25.0  # grey levels above the sclera that count as a reflection
    # Entropy of the usable iris pixels; in-focus real NIR eyes measure 5.3..6.3 bits.
    min_grey_scale_bits: float = 5.0
    min_sharpness: float = 50.0  # ISO 29794-6 sharpness, 0..100
    # Focus power (mean squared 8x8 band-pass response / 64, grey levels) scoring sharpness 50.
    # Fitted on real NIR eyes (iris ~100 px radius): in-focus eyes 2000..3900, the same eyes
    # blurred with sigma 1.5 px ~1200, sigma 2 ~750, sigma 3 ~290.
    sharpness_half_power: float = 1000.0


@dataclass(frozen=True)
class SignatureConfig(Settings):
    """Signature-trace thresholds."""

    min_score: int = 50
    min_points: int = 40
    min_duration_ms: float = 400.0
    min_width: float = 0.2  # bounding box / pad size
    min_height: float = 0.04
    min_strokes: int = 2


@dataclass(frozen=True)
class QualityConfig(Settings):
    """All modalities; the ``[quality]`` section of the station configuration."""

    fingerprint: FingerprintConfig = field(default_factory=FingerprintConfig)
    face: FaceConfig = field(default_factory=FaceConfig)
    iris: IrisConfig = field(default_factory=IrisConfig)
    signature: SignatureConfig = field(default_factory=SignatureConfig)
