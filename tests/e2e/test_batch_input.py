"""A batch's bad input, end to end over HTTP: a file that is no batch at all is refused on its card, naming
the row and the column; a bad row needs attention without holding up the others; a name that looks like
a formula or a mention stays harmless."""

from __future__ import annotations

from bot.sandbox.slack_fake import SlackFake
from bot.sandbox.static_server import StaticServer
from bot.sandbox.tavus_emulator import TavusEmulator
from bot.slack.ids import BATCH_RETRY_ACTION, BATCH_SUBMIT_ACTION
from tests.e2e.app_process import AppFactory
from tests.e2e.helpers import CHANNEL, USER, button, click, creates, opened_view, rendered, wait_until_quiet
from tests.e2e.test_batch import batch_card, csv_mention, host_photos
from tests.images import png


def test_files_that_are_no_batch_are_refused_naming_the_row_and_the_column(
    start_app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    app = start_app(BATCH_MAX_ROWS="3")
    link = f"{images.url}/ana.png"
    refused = {
        "binary": (png(40, 40), "This is not a CSV file"),
        "pdf renamed": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "This is not a CSV file"),
        "latin-1": ("name,photo\nJosé,x\n".encode("latin-1"), "not in UTF-8"),
        "no header": (f"Ana,{link}\nBo,{link}\n", "Row 1 is not a header"),
        "unknown column": (f"name,photo,colour\nAna,{link},red\n", "Row 1, column `colour`: unknown column"),
        "missing column": ("name,voice\nAna,anna\n", "the header has no `photo` column"),
        "empty": ("", "The file has no rows"),
        "header only": ("name,photo\n", "The file has no rows"),
        "too many rows": ("name,photo\n" + "".join(f"P{n},{link}\n" for n in range(4)), "has 4 rows"),
        "too large": ("name,photo\n" + f"Ana,{link}\n" * 30_000, "larger than 1024 KB"),
    }
    messages = {case: csv_mention(app, slack, content) for case, (content, _) in refused.items()}
    for case, (_, words) in refused.items():
        card = batch_card(slack, messages[case], "couldn't read this file")
        assert words in rendered(card), case
        # Nothing to submit or cancel on a file that was never read.
        assert not any(b.get("type") == "actions" for b in card["blocks"]), case
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == [] and [c for c in tavus.calls() if "image-validation" in c["path"]] == []


def test_bad_rows_need_attention_and_the_good_ones_go_on(
    app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    host_photos(images, "ana", "bo")
    link = f"{images.url}/ana.png"
    rows = (
        "name,photo,voice,model,for\n"
        f"Ana Good,{link},anna,,\n"
        f"ana good,{images.url}/bo.png,anna,,\n"  # the same name again
        "Cy Link,ftp://example.com/cy.png,anna,,\n"
        f"Di Voice,{link},yodel,,\n"
        f"Ed Model,{link},anna,phoenix-9,\n"
        f"Fy Person,{link},anna,,<#C999>\n"
        f'"=HYPERLINK(""https://evil.example"",""x"")",{images.url}/missing.png,anna,,\n'
        f'"<!channel> *Gus*, the ""lead""",{images.url}/bo.png,yodel,,\n'
        '"Hal\nTwo Lines",,anna,,\n'
    )
    message = csv_mention(app, slack, rows)
    card = batch_card(slack, message, "1 ready · 8 need attention")
    words = rendered(card)
    assert "Row 3 (ana good) — `name`: the same name as row 2" in words
    assert "Row 4 (Cy Link) — `photo`:" in words
    # Rows that share a reason are listed together; a name that looks like a mention pings nobody.
    shared = 'Rows 5, 9 (Di Voice, &lt;!channel&gt; *Gus*, the "lead") — `voice`: `yodel` is not a'
    assert shared in words
    assert "<!channel>" not in words
    assert "Row 6 (Ed Model) — `model`: `phoenix-9` is not a Tavus model I know" in words
    assert "Row 7 (Fy Person) — `for`:" in words
    assert 'Row 8 (=HYPERLINK("https://evil.example","x")) — `photo`:' in words and "404" in words
    assert "Row 10 (Hal\nTwo Lines) — `photo`: the cell is empty" in words
    assert button(card, BATCH_SUBMIT_ACTION)["text"]["text"] == "Submit 1"
    wait_until_quiet(slack, tavus)
    assert creates(tavus) == []

    click(app, button(card, BATCH_SUBMIT_ACTION))
    batch_card(slack, message, "Done", timeout=40)
    assert [c["json"]["face_name"] for c in creates(tavus)] == ["Ana Good"]
    # What the bot writes out (the rows to send again) keeps a formula from running in a spreadsheet.
    (ended,) = [m for m in slack.thread(CHANNEL, message["ts"]) if "has ended" in rendered(m)]
    click(app, button(ended, BATCH_RETRY_ACTION))
    prefilled = next(b for b in opened_view(slack)["blocks"] if b.get("block_id") == "rows")
    lines = prefilled["element"]["initial_value"].splitlines()
    assert any(line.startswith("\"'=HYPERLINK(") for line in lines), lines
    assert not any(line.startswith(("=", '"=')) for line in lines)


def test_the_form_says_what_is_wrong_under_its_fields(
    app: AppFactory, slack: SlackFake, tavus: TavusEmulator, images: StaticServer
) -> None:
    assert app.sender.command("batch", user_id=USER, channel_id=CHANNEL).status_code == 200
    view = opened_view(slack)

    def submit(values: dict) -> dict:
        payload = {
            "type": "view_submission", "team": {"id": "T0001"}, "user": {"id": USER}, "trigger_id": "t",
            "view": {"id": "V1", "type": "modal", "callback_id": view["callback_id"],
                     "private_metadata": view["private_metadata"], "state": {"values": values}},
        }
        answer = app.sender.interaction(payload)
        assert answer.status_code == 200
        return answer.json()

    def typed(text: str) -> dict:
        return {"rows": {"value": {"type": "plain_text_input", "value": text}}}

    assert submit({})["errors"]["file"].startswith("Attach one CSV")
    sheet = slack.add_file(b"name,photo\n", name="a.csv", mimetype="text/csv", filetype="csv")
    photo = slack.add_file(png(600, 600), name="a.png")
    mixed = submit({"file": {"files": {"type": "file_input", "files": [sheet, photo]}}})
    assert "not both" in mixed["errors"]["file"]
    unknown = submit(typed(f"name,photo,colour\nAna,{images.url}/ana.png,red\n"))
    assert "Row 1, column `colour`: unknown column" in unknown["errors"]["rows"]
    wait_until_quiet(slack, tavus)
    assert [m for m in slack.messages(CHANNEL) if "Batch `b" in rendered(m)] == []
