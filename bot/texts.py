"""What the bot says. Youth texts are written for a child; resident texts are plain and polite."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.hours import OpeningHours, describe_moment
from models import SchoolLevel

SCHOOL_LEVEL_CHOICES: tuple[tuple[SchoolLevel, str], ...] = (
    (SchoolLevel.elementary, "小学生"),
    (SchoolLevel.junior_high, "中学生"),
    (SchoolLevel.high, "高校生"),
    (SchoolLevel.other, "それ以外"),
    (SchoolLevel.undisclosed, "答えたくない"),
)
SCHOOL_LEVEL_POSTBACK_PREFIX = "school_level="

YOUTH_HOTLINES = (
    "いますぐ話したいときは、24時間つながる電話があるよ。\n"
    "・24時間子供SOSダイヤル 0120-0-78310（なやみいおう）\n"
    "・児童相談所 虐待対応ダイヤル 189（いちはやく）\n"
    "・命があぶないときは 110（警察）・119（救急）"
)
RESIDENT_HOTLINES = (
    "今すぐ誰かと話したいときは、24時間の電話窓口があります。\n"
    "・よりそいホットライン 0120-279-338（24時間・無料）\n"
    "・子どものことは 児童相談所 虐待対応ダイヤル 189\n"
    "・命に危険があるときは 110（警察）・119（救急）"
)


def hotlines(desk: str) -> str:
    return YOUTH_HOTLINES if desk == "youth" else RESIDENT_HOTLINES


def welcome(desk: str, hours: OpeningHours, *, returning: bool) -> str:
    if desk == "youth":
        first = "また来てくれてありがとう。" if returning else "ともだち追加ありがとう。"
        return (
            f"{first}ここは「声（こえ）」、なやみを相談できる場所だよ。\n\n"
            "・名前や学校の名前は書かなくて大丈夫。だれが書いたのか、相談員（そうだんいん）にもわからないしくみだよ。\n"
            "・書いてくれたことを、あなたにだまって学校や家の人に伝えることはないよ。\n"
            "・ただ一つだけ、あなたやだれかの命があぶないときは、命を守るために、ほかの大人に力をかりることがあるよ。\n\n"
            f"相談員がいる時間：{hours.describe(for_child=True)}"
        )
    first = "またご利用いただきありがとうございます。" if returning else "友だち追加ありがとうございます。"
    return (
        f"{first}こちらは「声（こえ）」くらしの相談窓口です。\n\n"
        "・お名前やご住所を書く必要はありません。相談員にも、どなたからのご相談かはわかりません。\n"
        "・ご相談の内容を、ご本人の了解なく外部に伝えることはありません。\n"
        "・ただし、命に危険があると考えられるときに限り、お守りするために関係機関と協力することがあります。\n\n"
        f"相談員の対応時間：{hours.describe()}\n"
        "お困りのことを、ご自由にお書きください。"
    )


ASK_SCHOOL_LEVEL = (
    "さいしょに一つだけ教えてね。あなたはいま、小学生？中学生？高校生？\n"
    "下のボタンからえらんでね。答えたくなければ「答えたくない」でだいじょうぶ。"
)


def school_level_thanks(desk: str) -> str:
    return "教えてくれてありがとう。こまっていること、話したいことを、自由に書いてね。うまくまとまらなくても大丈夫だよ。"


def acknowledgement(desk: str) -> str:
    if desk == "youth":
        return "メッセージありがとう。ちゃんと届いているよ。相談員が順番にお返事するから、少し待っていてね。"
    return "ご相談ありがとうございます。メッセージは届いています。相談員が順番にお返事しますので、少しお待ちください。"


def still_waiting(desk: str) -> str:
    if desk == "youth":
        return "書いてくれたこと、ちゃんと届いているよ。待たせてごめんね。相談員がお返事するまで、もう少し待っていてね。"
    return "メッセージは届いています。お待たせして申し訳ありません。順番にお返事しますので、もう少々お待ちください。"


def when_counsellors_are_in(desk: str, hours: OpeningHours, now: datetime) -> str:
    nxt = hours.next_opening(now)
    if desk == "youth":
        when = f"次は {describe_moment(nxt, for_child=True)}から。" if nxt else ""
        return f"相談員がいるのは {hours.describe(for_child=True)}。{when}それまでも、ここに書いてくれてだいじょうぶだよ。"
    when = f"次の対応は {describe_moment(nxt)}からです。" if nxt else ""
    return f"相談員の対応時間は {hours.describe()}です。{when}"


def after_hours(desk: str, hours: OpeningHours, now: datetime, *, more: Sequence[str] = ()) -> str:
    """`more`: services from the referral directory for this worry that can be reached now."""
    nxt = hours.next_opening(now)
    if desk == "youth":
        when = f"次は {describe_moment(nxt, for_child=True)}から、お返事するね。\n" if nxt else ""
        extra = "\n\nこんなところにも相談できるよ。\n" + "\n".join(more) if more else ""
        return (
            "メッセージありがとう。ちゃんと届いているよ。\n"
            f"いまは相談員がいない時間なんだ。相談員がいるのは {hours.describe(for_child=True)}。\n{when}\n"
            f"{YOUTH_HOTLINES}{extra}"
        )
    when = f"次の対応は {describe_moment(nxt)}からです。\n" if nxt else ""
    extra = "\n\nご相談の内容について、次の窓口もご利用いただけます。\n" + "\n".join(more) if more else ""
    return (
        "ご相談ありがとうございます。メッセージは届いています。\n"
        f"ただいま対応時間外です。対応時間は {hours.describe()}です。\n{when}\n"
        f"{RESIDENT_HOTLINES}{extra}"
    )


def sticker_reply(desk: str) -> str:
    if desk == "youth":
        return "スタンプありがとう。よかったら、いまの気持ちやこまっていることを、文字で教えてね。"
    return "スタンプありがとうございます。よろしければ、お困りのことを文字でお書きください。"


def media_reply(desk: str) -> str:
    if desk == "youth":
        return (
            "送ってくれてありがとう。ごめんね、写真・動画・音声・ファイルは、ここでは見たり聞いたりできないんだ。"
            "よかったら、文字で教えてね。"
        )
    return (
        "お送りいただきありがとうございます。申し訳ありませんが、写真・動画・音声・ファイルは"
        "こちらでは確認できません。お手数ですが、文字でお知らせください。"
    )


def urgent(desk: str, hours: OpeningHours, now: datetime) -> str:
    """Sent at once, at any hour, when a message may mean a life is in danger."""
    in_hours = hours.is_open(now)
    if desk == "youth":
        who = (
            "相談員がすぐに読むね。"
            if in_hours
            else "いまは相談員がいない時間だけど、あなたのメッセージはちゃんと届いているよ。"
        )
        return (
            f"あなたのことが、とても心配です。{who}\n"
            "ひとりでがまんしないで、いますぐ電話で話してね。夜でも、お休みの日でもつながるよ。\n"
            "・24時間子供SOSダイヤル 0120-0-78310（なやみいおう）\n"
            "・児童相談所 虐待対応ダイヤル 189（いちはやく）\n"
            "・命があぶないとき、けががあるときは 110（警察）・119（救急）"
        )
    who = "相談員がすぐに確認します。" if in_hours else "ただいま対応時間外ですが、メッセージは届いています。"
    return (
        f"あなたのことがとても心配です。{who}\n"
        "おひとりで抱えず、今すぐ電話でご相談ください。24時間つながります。\n"
        "・よりそいホットライン 0120-279-338（24時間・無料）\n"
        "・子どものことは 児童相談所 虐待対応ダイヤル 189\n"
        "・命に危険があるとき、けががあるときは 110（警察）・119（救急）"
    )
