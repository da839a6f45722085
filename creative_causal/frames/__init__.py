"""Frame discovery: candidate stills for artwork, found in the video itself.

:func:`discover_frames` reads each video once: shots (hard cuts, fades, dissolves), every
sampled frame measured by the same feature extractor as finished artwork plus video signals
(black, letterbox, camera and subject motion), a quality gate that says why it rejects a
frame, an interpretable score and a diverse selection (:class:`FrameCandidates`).

Knows nothing of estimators; reads video with OpenCV and shots with PySceneDetect.
"""

from ._discover import discover_frames
from ._rank import DEFAULT_WEIGHTS
from ._result import FrameCandidates, time_code
from ._video import VIDEO_EXTENSIONS, VideoInfo, open_video

__all__ = ["discover_frames", "FrameCandidates", "VideoInfo", "open_video", "DEFAULT_WEIGHTS", "VIDEO_EXTENSIONS",
           "time_code"]
