"""The documented Tavus video-training failures: Tavus' texts verbatim, and what they mean and what to do,
in our words. `bot.domain.video_catalogue` builds the catalogue's entries from these."""

from __future__ import annotations

from dataclasses import dataclass

CONSENT_MISMATCH = "consent_phrase_mismatch"
DEVELOPER_SUPPORT_EMAIL = "developer-support@tavus.io"
DEFAULT_SUPPORT_EMAIL = "support@tavus.io"


@dataclass(frozen=True)
class VideoSpec:
    code: str
    title: str
    tavus_message: str
    explanation: str
    advice: tuple[str, ...]
    # Set where the message sends the person to Tavus support instead of saying what was wrong.
    support_email: str | None = None

    @property
    def key(self) -> str:
        """Tavus' name for the type (the two `video_processing` texts share one)."""
        return self.code.split(" ", 1)[0]


_VIDEO = "There was an issue processing your training video. "
_FILE = "There was an issue processing your training file: "
_QUALITY = "There was a quality issue with your replica. "
# The openings the texts share, which say nothing about which failure it is (the matcher sets them aside).
SHARED_OPENINGS = (_VIDEO.strip(" ."), _FILE.strip(" :"), _QUALITY.strip(" ."))

# Order and messages follow Tavus' table verbatim; the tests check them against the reference copy.
VIDEO_SPECS: tuple[VideoSpec, ...] = (
    VideoSpec(
        "download_link",
        "Tavus could not download the video",
        "There was an issue downloading your video file. Please ensure that the link you provided is correct "
        "and try again",
        "Tavus could not fetch the training video from the link: it is mistyped, expired, private or needs a "
        "login.",
        (
            "Open the link in a private browser window: it must download the video file itself, with no "
            "login or preview page.",
            "Use a direct public link (for example a presigned S3 link valid for a day), not a Drive or "
            "Dropbox share page.",
        ),
    ),
    VideoSpec(
        "file_size",
        "Video file is too large",
        "The video file you provided exceeds the maximum file size allowed. Please ensure that the video is "
        "less than 750MB and try again.",
        "The video is over Tavus' 750 MB limit.",
        (
            "Keep the recording short: about a minute (30 s speaking, 30 s listening) is all Tavus needs.",
            "Export it as MP4 (H.264) at 1080p rather than 4K or a raw camera format, which keeps it well "
            "under 750 MB.",
        ),
    ),
    VideoSpec(
        "video_format",
        "Video is not an MP4 file",
        _VIDEO
        + "The video provided is not a .mp4 file. Please ensure that the training video is a .mp4 file "
        "encoded using h.264",
        "Tavus trains only from .mp4 files, and this video is in another format (for example .mov, .webm or "
        ".mkv).",
        (
            'Export or convert the video to .mp4 with H.264 video (most editors call it "MP4 / H.264").',
            "Keep 1080p and at least 25 fps when converting.",
        ),
    ),
    VideoSpec(
        "video_codec",
        "Video is not encoded with H.264",
        _VIDEO + "The video provided is not encoded using h.264. Please ensure that the training video is a "
        ".mp4 file encoded using h.264",
        "The file is an .mp4, but its video is encoded with another codec (phones often use HEVC/H.265), and "
        "Tavus needs H.264.",
        (
            'Re-export the video as MP4 with the H.264 codec, or set the phone camera to "Most compatible" '
            "before recording.",
            "Keep 1080p and at least 25 fps when converting.",
        ),
    ),
    VideoSpec(
        "video_codec_and_format",
        "Video is not an MP4 encoded with H.264",
        _VIDEO + "Please ensure that the training video is a .mp4 file encoded using h.264",
        "Tavus could not use the file: it needs an .mp4 file whose video is encoded with H.264.",
        (
            "Export or convert the video to MP4 with the H.264 codec.",
            "Keep 1080p and at least 25 fps when converting.",
        ),
    ),
    VideoSpec(
        "video_duration",
        "Video is too short",
        _VIDEO + "The video provided does not meet the minimum duration requirement for training",
        "The recording is shorter than Tavus needs to learn how you look and speak.",
        (
            "Record at least 30 seconds of you speaking, followed by 30 seconds of you listening quietly "
            "(older models needed a full minute, so a little longer is safe).",
            "Keep it one continuous take; don't trim it afterwards.",
        ),
    ),
    VideoSpec(
        "video_fps",
        "Frame rate is too low",
        _VIDEO + "The video provided does not meet the minimum frame rate requirement for a training video. "
        "Please ensure your training video has a frame rate of at least 25fps",
        "The video has fewer than 25 frames per second, the minimum Tavus trains from.",
        (
            "Record at 25 fps or more (30 fps is a safe choice) and keep that frame rate when exporting.",
            "Avoid screen recordings and video-call recordings: they often drop to a low frame rate.",
        ),
    ),
    VideoSpec(
        CONSENT_MISMATCH,
        "Consent statement does not match",
        _FILE + "Your consent phrase does not match our requirements. Please follow our specified format "
        "closely",
        "The video must open with the consent statement, spoken word for word, and Tavus could not match "
        "what was said to it.",
        (
            "Start the new recording by reading the statement below aloud, word for word, with your full "
            "name, looking at the camera.",
            "Speak clearly in a quiet room; don't paraphrase, shorten or skip words.",
            "Or record the statement as a separate consent video and give it with `consent=<url>`.",
        ),
    ),
    VideoSpec(
        "face_or_obstruction_detected",
        "More than one face, or the face is blocked",
        _FILE
        + "More than one face detected or obstructions present. Please ensure only your face is visible "
        "and clear",
        "Tavus saw more than one face, or something covering the face, during the video.",
        (
            "Record alone, against a plain background with no posters, screens or photos showing faces.",
            "Keep hands, hair, microphones and glasses away from your face.",
        ),
    ),
    VideoSpec(
        "lighting_change_detected",
        "Lighting changes during the video",
        _FILE + "Lighting changes detected. Ensure your face is evenly lit throughout the video",
        "The light on the face changed during the recording (a lamp switched, clouds, a screen's glow).",
        (
            "Record with steady, even light on your face, for example facing a window on an overcast day or "
            "with a lamp that stays on.",
            "Turn off automatic exposure changes if your camera allows it.",
        ),
    ),
    VideoSpec(
        "background_noise_detected",
        "Background noise or other voices",
        _FILE + "Background noise or other voices detected. Please record in a quiet environment with only "
        "your voice",
        "Tavus heard noise or other people's voices, and it needs your voice alone to learn it.",
        (
            "Record in a quiet room with doors and windows closed, and no music, TV or other people talking.",
            "Use a microphone close to you, and switch off fans or notifications.",
        ),
    ),
    VideoSpec(
        "video_editing_detected",
        "Video looks edited or cut",
        _FILE + "Video appears edited or contains cuts. Please submit an unedited, continuous video",
        "Tavus needs one continuous take, and this video looks cut, spliced or edited.",
        (
            "Record the whole video in one take and submit it as recorded, without cuts, filters or "
            "transitions.",
            "If you need to convert it, change only the format, not the content.",
        ),
    ),
    VideoSpec(
        "community_guidelines_violation",
        "Video breaks Tavus' Community Guidelines",
        _FILE + "Video violates Community Guidelines. Please review our guidelines and resubmit your video",
        "Tavus' review found content in the video that its Community Guidelines do not allow.",
        (
            "Read Tavus' Community Guidelines and record a new video that follows them.",
            f"If you think this is a mistake, write to {DEFAULT_SUPPORT_EMAIL} with the replica id rather "
            "than retrying the same video.",
        ),
    ),
    VideoSpec(
        "video_processing (face)",
        "Face too small or hidden",
        "There was an error processing your training video. Face not detected because it appeared too small "
        "in the frame or it was occluded. Please edit or record a new video and ensure your face is clearly "
        "visible and occupies a larger portion of the frame.",
        "Tavus could not find the face: it was too small in the frame or covered.",
        (
            "Sit closer to the camera so your face fills at least a quarter of the frame.",
            "Keep your whole face uncovered and well lit, looking at the camera.",
        ),
    ),
    VideoSpec(
        "video_processing (file)",
        "Video file is damaged or unreadable",
        "There was an error processing your training video file. Please check your video format and make "
        "sure it not damaged and could be played correctly.",
        "Tavus could not read the video file: it may be damaged, incomplete or in an unusual format.",
        (
            "Play the file from start to end on another device to check it is complete.",
            "Export it again as MP4 (H.264) and upload the new file.",
        ),
    ),
    VideoSpec(
        "excessive_movement_detected",
        "Too much movement",
        _FILE + "Excessive movement detected. Please ensure you are sitting still and centered in the frame",
        "You (or the camera) moved too much during the recording.",
        (
            "Put the camera on a tripod or a stable surface, not in your hand.",
            "Sit still and centred in the frame; natural small head movements are fine.",
        ),
    ),
    VideoSpec(
        "audio_processing",
        "Problem with the audio",
        "There was an error processing the audio in the provided training video file.",
        "Tavus could not process the audio of the video. This can also come from the replica name's length "
        "or characters.",
        (
            "Use a short replica name with plain letters, digits and spaces.",
            "Check that the video has a clear audio track (not muted, not mono noise) in a standard format "
            "such as AAC.",
        ),
    ),
    VideoSpec(
        "quality_issue_detected",
        "Quality issue found by Tavus",
        f"Quality issue detected. For details and assistance, please reach out to Tavus support via "
        f"{DEVELOPER_SUPPORT_EMAIL}",
        "Tavus found a quality problem in the video but did not say which; its support team can tell you.",
        (
            "Write to Tavus support at the address below with the replica id to learn what to change.",
            "Meanwhile, check the new recording against every requirement below.",
        ),
        support_email=DEVELOPER_SUPPORT_EMAIL,
    ),
    VideoSpec(
        "hands_obstructing_face",
        "Hands in front of the face",
        _QUALITY + "The user's hand obstructed the face during recording. Please edit your video or record a "
        "new training video and keep hands away from the face.",
        "A hand covered part of the face during the recording.",
        (
            "Keep your hands in your lap or out of the frame for the whole recording.",
            "Don't touch your face, hair or glasses while speaking.",
        ),
    ),
    VideoSpec(
        "second_person_detected",
        "A second person in the frame",
        _QUALITY
        + "A second person or face was detected in the frame. Please edit your video or record a new "
        "video with no one else in the background.",
        "Another person or face showed up in the frame.",
        (
            "Record alone, with no one walking behind you.",
            "Check the background for faces on posters, screens or photos.",
        ),
    ),
    VideoSpec(
        "improper_distance",
        "Too close to or too far from the camera",
        _QUALITY + "The user was either too close to or too far from the camera. Please review our "
        "documentation on proper framing and distance before editing your video or recording a new video.",
        "You were too close to or too far from the camera for Tavus.",
        (
            "Frame head and shoulders, with your face taking at least a quarter of the frame and a little "
            "space above your head.",
            "Mark your spot and stay at that distance for the whole video.",
        ),
    ),
    VideoSpec(
        "inconsistent_distance",
        "Distance to the camera changed",
        _QUALITY
        + "The user's distance from the camera changed during the recording. Please edit or record a "
        "new training video and remain at a consistent distance from the camera for the entire video.",
        "You moved toward or away from the camera during the recording.",
        (
            "Sit on a chair that doesn't roll, with the camera fixed in place.",
            "Stay at the same distance from the camera from start to end.",
        ),
    ),
    VideoSpec(
        "face_turned_away",
        "Face turned away from the camera",
        _QUALITY
        + " User's face turned away from the camera. Please edit or record a new video and ensure you "
        "are facing directly toward the camera for the entire duration.",
        "The face turned away from the camera during the recording.",
        (
            "Face the camera directly for the whole video, also while listening.",
            "Put any notes or script right next to the lens so you don't look away to read them.",
        ),
    ),
    VideoSpec(
        "improper_camera_angle",
        "Camera too low or too high",
        _QUALITY
        + "The camera angle was either too low or too high. Please record a new video with the camera "
        "angle at eye level.",
        "The camera looked up at or down on the face instead of level with it.",
        (
            "Put the camera at eye level, straight in front of you (stack books under a laptop if needed).",
            "Look into the lens, not at the screen.",
        ),
    ),
    VideoSpec(
        "poor_lighting",
        "Face too dark or shadowed",
        _QUALITY
        + "The user's face was not clearly visible due to poor lighting or heavy shadows. Please edit "
        "or record a new video with even lighting on your face, avoiding shadows or dim environments.",
        "The face was too dark or had heavy shadows, so Tavus could not see it clearly.",
        (
            "Face a window or a soft lamp so light falls evenly on your face; avoid light from behind or "
            "straight above.",
            "Record in a bright room, not a dim one.",
        ),
    ),
    VideoSpec(
        "teeth_not_visible",
        "Teeth not visible",
        _QUALITY + "The top and bottom teeth were not clearly visible during recording, either due to poor "
        "lighting or obstruction. Please edit your video or record a new training video with better lighting "
        "and ensure your teeth are fully visible.",
        "Tavus needs to see the top and bottom teeth while you speak, and it could not.",
        (
            "Speak naturally with an open mouth and smile now and then so both rows of teeth show.",
            "Light your face evenly from the front and keep hands and microphones away from your mouth.",
        ),
    ),
    VideoSpec(
        "other_quality_issue",
        "Quality issue (ask Tavus support)",
        f"Quality issue was detected. For details and assistance, please reach out to Tavus support via "
        f"{DEFAULT_SUPPORT_EMAIL}",
        "Tavus found a quality problem in the video but did not say which; its support team can tell you.",
        (
            "Write to Tavus support at the address below with the replica id to learn what to change.",
            "Meanwhile, check the new recording against every requirement below.",
        ),
        support_email=DEFAULT_SUPPORT_EMAIL,
    ),
)
