"""Frame discovery: candidate stills for artwork, found in the video itself.

:func:`discover_frames` reads each video once: shots (hard cuts, fades, dissolves), every
sampled frame measured by the same feature extractor as finished artwork plus video signals
(black, letterbox, camera and subject motion), the lead characters (faces clustered by
identity across the video), a quality gate that says why it rejects a frame, an
interpretable score (with a study: the lift its causal effects predict) and a diverse
selection (:class:`FrameCandidates`).

Knows nothing of estimators; reads video with OpenCV and shots with PySceneDetect.
"""

from ._characters import APPEARANCE, IdentityModel, appearance_descriptor
from ._discover import FrameDiscoverer, discover_frames
from ._rank import DEFAULT_WEIGHTS, LIFT_WEIGHT
from ._result import FrameCandidates, time_code
from ._video import VIDEO_EXTENSIONS, VideoInfo, open_video

__all__ = ["discover_frames", "FrameDiscoverer", "FrameCandidates", "VideoInfo", "open_video", "DEFAULT_WEIGHTS", "LIFT_WEIGHT",
           "VIDEO_EXTENSIONS", "time_code", "IdentityModel", "APPEARANCE", "appearance_descriptor"]
