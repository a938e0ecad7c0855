"""What the requester reads about their photo: why a file or link was refused, and what the offline photo
check found, in the words and with the links the error catalogue uses for the Tavus code it predicts."""

from __future__ import annotations

from bot.photos.offline_check import Finding
from bot.photos.refusals import PreflightRefusal
from bot.slack.render.blocks import escape

IMAGE_REQUIREMENTS = (
    "JPG or PNG, at least 512×512 pixels; one person, front-facing, head and shoulders in frame; "
    "no glasses, hats or headphones; hair behind the shoulders; even light."
)
_OR_UPLOAD = "Please share a direct link to the photo, or upload it to Slack."
# What a file really is, when it is not a JPG or PNG, as the requester would call it.
_FORMAT_NAMES = {
    "GIF": "a GIF",
    "WebP": "a WebP image",
    "BMP": "a BMP image",
    "TIFF": "a TIFF (or camera RAW) image",
    "HEIC": "a HEIC photo (the iPhone default)",
    "AVIF": "an AVIF image",
    "video": "a video",
    "ICO": "an icon (ICO)",
    "PSD": "a Photoshop (PSD) file",
    "PDF": "a PDF document",
    "JPEG 2000": "a JPEG 2000 image",
    "JPEG XL": "a JPEG XL image",
    "SVG": "an SVG drawing",
}
SLACK_SIGN_IN_PAGE = (
    "I couldn't read the photo from Slack: Slack answered with a sign-in page instead of the file, which "
    "means my bot token can't read files (it needs the `files:read` scope, or the token is wrong). "
    "Your photo is fine; the app's admin needs to fix this."
)


def refusal_text(refusal: PreflightRefusal) -> str:
    """Why the file or link cannot be used, and what to do instead."""
    r = refusal
    # A link's host, and what its server answered, are someone else's words: escaped like any.
    host = escape(r.host) if r.host else "the server"
    match r.reason:
        case "empty":
            return "The file is empty (0 bytes). Please send the photo again."
        case "too_large" if r.host is not None:
            return (
                f"The file at {host} is larger than {_limit(r.limit or 0)}, the most we download. Please "
                "send a smaller version of the photo."
            )
        case "too_large":
            shown, limit = _sizes(r.size or 0, r.limit or 0)
            return f"This file is {shown}; the limit is {limit}. Please send a smaller version of the photo."
        case "html_page" if r.cause == "slack_sign_in":
            return SLACK_SIGN_IN_PAGE
        case "html_page":
            return (
                "This is a web page, not a photo — often a sign-in or preview page instead of the image "
                "itself. Please send the JPG or PNG file directly, or a link that opens the image "
                "without signing in."
            )
        case "not_an_image":
            return (
                "This file isn't a picture we can read (it isn't a JPG or PNG). Please send the headshot as "
                "a JPG or PNG photo."
            )
        case "unsupported_format":
            named = _FORMAT_NAMES.get(r.file_format or "", f"a {escape(r.file_format or '')} file")
            return (
                f"This file is {named}; Tavus needs a JPG or PNG. Please convert or export it as JPG or PNG "
                "and send it again."
            )
        case "truncated":
            name = {"JPEG": "JPG", "PNG": "PNG"}.get(r.file_format or "", escape(r.file_format or "image"))
            return (
                f"This {name} file is incomplete or damaged, so it can't be read to the end — it was "
                "probably cut off while uploading or downloading. Please send the original photo again."
            )
        case "decompression_bomb":
            if r.width and r.height:
                dimensions = f"{r.width}×{r.height} pixels ({_megapixels(r.width * r.height)})"
            else:
                dimensions = "far too many pixels"
            return (
                f"This image claims to be {dimensions}, more than the {_megapixels(r.limit or 0)} we accept, "
                "so we didn't open it. Please export the photo at a normal size (for example 4000×3000)."
            )
        case "too_small":
            side = r.limit
            return (
                f"This image is {r.width}×{r.height} pixels; Tavus needs at least {side}×{side}. "
                "Please use a larger photo."
            )
    return _link_refusal_text(r, host)


def _link_refusal_text(r: PreflightRefusal, host: str) -> str:
    match (r.reason, r.cause):
        case ("bad_url", "not_slack"):
            return "That file link does not point at Slack, so I did not download it."
        case ("bad_url", _):
            return (
                "That doesn't look like a complete web link. Please paste the full https:// link to the "
                "photo."
            )
        case ("bad_scheme", _):
            return (
                "Only http:// and https:// links can be downloaded, and this one starts with "
                f"{escape(r.scheme or '')}://. Please share a web link to the photo, or upload it to Slack."
            )
        case ("private_address", _):
            return (
                f"The link points to {host}, a private or internal address that Tavus cannot reach either. "
                "Please share a public link to the photo, or upload it to Slack."
            )
        case ("download_failed", "host_not_found"):
            return f"We couldn't find the server {host}. Please check the link, or upload the photo to Slack."
        case ("download_failed", "not_a_file"):
            return (
                f"The link to {host} answered {r.http_status} {escape(r.status_text)} instead of sending "
                "the file. "
                + _OR_UPLOAD
            )
        case ("download_failed", "no_location"):
            return f"The link to {host} redirected without saying where to. {_OR_UPLOAD}"
        case ("download_failed", "no_link"):
            return "Slack did not give me a download link for that file."
        case ("download_failed", _):
            return (
                f"We couldn't download the photo from {host}: the connection failed. Please check the "
                "link, or upload the photo to Slack."
            )
        case ("http_error", _):
            return f"{_answered(r, host)} — {_http_advice(r.http_status or 0)}"
        case ("too_many_redirects", _):
            return (
                f"The link kept redirecting (more than {r.limit} times) without reaching a file; it "
                f"may need a sign-in. {_OR_UPLOAD}"
            )
        case ("timeout", _):
            return (
                f"Downloading from {host} took longer than {r.seconds:g} seconds, so we stopped. "
                "Please try again, or upload the photo to Slack."
            )
    return "This photo can't be used. Please send another JPG or PNG headshot."


def _answered(r: PreflightRefusal, host: str) -> str:
    return f"The link to {host} answered {r.http_status} {escape(r.status_text)}".rstrip()


def _http_advice(status: int) -> str:
    if status in (401, 403):
        return "is it public, or has it expired? Please share a link anyone can open, or upload the photo."
    if status in (404, 410):
        return "is it public? Please check the link, or upload the photo to Slack."
    if status == 429:
        return "the server is limiting downloads. Please try again in a few minutes."
    if status >= 500:
        return "the server had a problem. Please try again later, or upload the photo to Slack."
    return "please check the link, or upload the photo to Slack."


def refused_message(reason: str) -> str:
    """A photo (or link) turned down before anything reached Tavus."""
    return f":warning: I did not send this to Tavus: {reason}\n*Photo checklist:* {IMAGE_REQUIREMENTS}"


# --- the offline photo check ----------------------------------------------------------------------------


def finding_detail(finding: Finding) -> str:
    """One plain sentence with the measured fact."""
    f = finding
    share = _pct(f.share or 0.0)
    match f.kind:
        case "no_face":
            return (
                "I couldn't find a human face in this photo; Tavus needs one person's face, clear and facing "
                "the camera, in the middle of the picture (animals and objects are rejected)."
            )
        case "multiple_faces":
            return f"I can see {f.count} faces in this photo; Tavus needs a photo of just one person."
        case "head_cut_off" if f.side == "bottom":
            return "The chin looks cut off by the bottom edge of the photo."
        case "head_cut_off":
            return (
                "The top of the head looks cut off: there is almost no room between the face and the top "
                "edge of the photo."
            )
        case "off_centre" if f.side == "low":
            return (
                f"The face is low in the photo (its centre is {share} of the way down); Tavus wants it in "
                "the middle."
            )
        case "off_centre":
            return (
                f"The face is near the {f.side} edge (its centre is {share} of the way across); Tavus wants "
                "it in the middle of the photo."
            )
        case "face_too_small":
            return (
                f"The face takes up only {share} of the photo; Tavus needs head and shoulders filling most "
                "of the frame."
            )
        case "blurry":
            return (
                f"{_subject(f)} looks blurry, with {share} of the fine detail we look for (out of focus, "
                "camera shake, or a heavily compressed copy)."
            )
        case "too_dark":
            return (
                f"{_subject(f)} is too dark: its average brightness is {share} (we look for at least "
                f"{_pct(f.threshold or 0.0)})."
            )
        case "overexposed":
            return f"{_subject(f)} is washed out: {share} of it is pure white."
        case "uneven_light":
            return f"The face is lit from one side: one half is {share} darker than the other."
    return "Tavus may reject this photo."


def _subject(finding: Finding) -> str:
    return {"face": "The face", "middle": "The middle of the photo"}.get(finding.subject or "", "The photo")


def _pct(share: float) -> str:
    value = share * 100
    return f"{value:.0f}%" if value >= 10 else f"{value:.1f}".removesuffix(".0") + "%"


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f}".removesuffix(".0") + " megapixels"


def _limit(max_bytes: int) -> str:
    if max_bytes < 1024 * 1024:
        return f"{max_bytes:,} bytes"
    return f"{max_bytes / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def _sizes(size: int, limit: int) -> tuple[str, str]:
    shown, shown_limit = _human_size(size), _human_size(limit)
    if shown == shown_limit:
        # "10 MB; the limit is 10 MB" reads as nonsense; fall back to exact counts.
        return f"{size:,} bytes", f"{limit:,} bytes"
    return shown, shown_limit


def _human_size(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"
