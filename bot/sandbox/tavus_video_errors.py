"""The video-training error texts the Tavus emulator can fail a training with: Tavus' documented
`error_message` texts ("Errors and status details"), keyed by Tavus' name for each type.

The emulator keeps its own copy rather than reading the bot's catalogue, so that a stand-in for Tavus never
agrees with the bot by construction. A training video whose link carries `tavus_error=<key>` (in the query
or the fragment) fails with that text; `video_processing` has two texts, told apart as
`video_processing_face` and `video_processing_file` (the plain key means the file one).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

MARKER = "tavus_error"

VIDEO_ERROR_TEXTS: dict[str, str] = {
    "download_link": (
        "There was an issue downloading your video file. Please ensure that the link you provided is "
        "correct and try again"
    ),
    "file_size": (
        "The video file you provided exceeds the maximum file size allowed. Please ensure that the "
        "video is less than 750MB and try again."
    ),
    "video_format": (
        "There was an issue processing your training video. The video provided is not a .mp4 file. "
        "Please ensure that the training video is a .mp4 file encoded using h.264"
    ),
    "video_codec": (
        "There was an issue processing your training video. The video provided is not encoded using "
        "h.264. Please ensure that the training video is a .mp4 file encoded using h.264"
    ),
    "video_codec_and_format": (
        "There was an issue processing your training video. Please ensure that the training video is "
        "a .mp4 file encoded using h.264"
    ),
    "video_duration": (
        "There was an issue processing your training video. The video provided does not meet the "
        "minimum duration requirement for training"
    ),
    "video_fps": (
        "There was an issue processing your training video. The video provided does not meet the "
        "minimum frame rate requirement for a training video. Please ensure your training video has "
        "a frame rate of at least 25fps"
    ),
    "consent_phrase_mismatch": (
        "There was an issue processing your training file: Your consent phrase does not match our "
        "requirements. Please follow our specified format closely"
    ),
    "face_or_obstruction_detected": (
        "There was an issue processing your training file: More than one face detected or "
        "obstructions present. Please ensure only your face is visible and clear"
    ),
    "lighting_change_detected": (
        "There was an issue processing your training file: Lighting changes detected. Ensure your "
        "face is evenly lit throughout the video"
    ),
    "background_noise_detected": (
        "There was an issue processing your training file: Background noise or other voices "
        "detected. Please record in a quiet environment with only your voice"
    ),
    "video_editing_detected": (
        "There was an issue processing your training file: Video appears edited or contains cuts. "
        "Please submit an unedited, continuous video"
    ),
    "community_guidelines_violation": (
        "There was an issue processing your training file: Video violates Community Guidelines. "
        "Please review our guidelines and resubmit your video"
    ),
    "video_processing_face": (
        "There was an error processing your training video. Face not detected because it appeared "
        "too small in the frame or it was occluded. Please edit or record a new video and ensure "
        "your face is clearly visible and occupies a larger portion of the frame."
    ),
    "video_processing_file": (
        "There was an error processing your training video file. Please check your video format and "
        "make sure it not damaged and could be played correctly."
    ),
    "excessive_movement_detected": (
        "There was an issue processing your training file: Excessive movement detected. Please "
        "ensure you are sitting still and centered in the frame"
    ),
    "audio_processing": ("There was an error processing the audio in the provided training video file."),
    "quality_issue_detected": (
        "Quality issue detected. For details and assistance, please reach out to Tavus support via "
        "developer-support@tavus.io"
    ),
    "hands_obstructing_face": (
        "There was a quality issue with your replica. The user's hand obstructed the face during "
        "recording. Please edit your video or record a new training video and keep hands away from "
        "the face."
    ),
    "second_person_detected": (
        "There was a quality issue with your replica. A second person or face was detected in the "
        "frame. Please edit your video or record a new video with no one else in the background."
    ),
    "improper_distance": (
        "There was a quality issue with your replica. The user was either too close to or too far "
        "from the camera. Please review our documentation on proper framing and distance before "
        "editing your video or recording a new video."
    ),
    "inconsistent_distance": (
        "There was a quality issue with your replica. The user's distance from the camera changed "
        "during the recording. Please edit or record a new training video and remain at a consistent "
        "distance from the camera for the entire video."
    ),
    "face_turned_away": (
        "There was a quality issue with your replica.  User's face turned away from the camera. "
        "Please edit or record a new video and ensure you are facing directly toward the camera for "
        "the entire duration."
    ),
    "improper_camera_angle": (
        "There was a quality issue with your replica. The camera angle was either too low or too "
        "high. Please record a new video with the camera angle at eye level."
    ),
    "poor_lighting": (
        "There was a quality issue with your replica. The user's face was not clearly visible due to "
        "poor lighting or heavy shadows. Please edit or record a new video with even lighting on "
        "your face, avoiding shadows or dim environments."
    ),
    "teeth_not_visible": (
        "There was a quality issue with your replica. The top and bottom teeth were not clearly "
        "visible during recording, either due to poor lighting or obstruction. Please edit your "
        "video or record a new training video with better lighting and ensure your teeth are fully "
        "visible."
    ),
    "other_quality_issue": (
        "Quality issue was detected. For details and assistance, please reach out to Tavus support "
        "via support@tavus.io"
    ),
}
VIDEO_ERROR_TEXTS["video_processing"] = VIDEO_ERROR_TEXTS["video_processing_file"]


def scripted_video_error(train_video_url: str | None) -> str | None:
    """The documented text a training video's link asks the emulator to fail with, if it asks."""
    if not train_video_url:
        return None
    parts = urlsplit(train_video_url)
    for params in (parts.query, parts.fragment):
        for key in parse_qs(params).get(MARKER, []):
            if (text := VIDEO_ERROR_TEXTS.get(key.strip().lower())) is not None:
                return text
    return None
