"""The safety layer: crisis expressions that a person can read, each raising a message's risk to at least a
floor. Rules never lower risk. Guards keep jokes and hyperbole (テスト死んだｗ), negation (死にたいとかじゃない)
and the past (自傷はやめて1年) from firing them; the model still judges those messages on its own."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from triage.labels import Risk
from triage.result import Evidence

# Fragments, on normalised text (NFKC, lower case). Each names kanji and kana spellings.
NOW = r"(今夜|こんや|今晩|こんばん|今日|きょう|今から|いまから|このあと|この後|今すぐ|いますぐ|これから|もうすぐ|夜中|今|いま)"
SOON = r"(今夜|こんや|今晩|こんばん|今日|きょう|今から|いまから|このあと|この後|今すぐ|いますぐ|これから|明日|あした|あす|週末)"
DIE_ACT = (
    r"((死|し)(ぬ(つもり|ね|わ(?![wｗ])|から|しかない|って決め|ことにし)|のう|にます|んでやる|ぬ(?=[。!！?？…\n]|$))"
    r"|(飛|と)び(降|お)り(る|よう|ます|たい)|(首|くび)を?(吊|つ)(る|ろう)|(自殺|じさつ)(する|します|しよう)(?!(人|ひと|の|って|こと))"
    r"|(終|お)わりにする|(最後|さいご)にする|(命|いのち)を(絶|た)つ|(電車|でんしゃ)に(飛|と)び(込|こ)"
    r"|(薬|くすり)を?.{0,6}(全部|ぜんぶ)(飲|の)(む|みます|んでやる))"
)
WISH = (
    r"((死|し)にたい|(消|き)えたい|いなくなりたい|(生|い)きて(る|いる)?(意味|いみ)(が|も)?(ない|わからない)"
    r"|(死|し)に(方|かた)|(死|し)ねる(方法|ほうほう)|(死|し)ぬ(方法|ほうほう)|いなくなる(方法|ほうほう)|(楽|らく)に(死|し)"
    r"|(明日|あした|あす)(とか|なんて)?(来|こ)なくて(いい|いい)|(目|め)が(覚|さ)めなければ|(起|お)きなければいい"
    r"|(生|い)きたくない|(自殺|じさつ)(したい|しようかな|を考え|を(かんが|考)え)|(終|お)わりにしたい"
    r"|(生|い)きる(の|こと)(が|に)?(疲|つか)れ"
    r"|(死|し)んだ(ほう|方)が(まし|楽|らく|いい)|(死|し)のうかな|(消|き)えてしまいたい|いなくなったほうが)"
)
FAREWELL = (
    r"((今まで|いままで)(ありがとう|お世話になりました).{0,20}(さよなら|さようなら|ごめん|最後|さいご|もう)"
    r"|(明日|あした)の(朝|あさ)は?(もう)?(来|こ)ない"
    r"|(今日|きょう)で(最後|さいご)|(遺書|いしょ)を?(書|か)(いた|きました|く)|(手紙|てがみ)を?(書|か)いた.{0,10}(さよなら|ごめん)"
    r"|(大事|だいじ)な(もの|物)を?(あげ|譲|ゆず)っ|(みんな|皆).{0,8}(さよなら|さようなら|バイバイ)(?!し)"
    r"|(心残り|こころのこり|思い残すこと|おもいのこすこと)(は|も)?(ない|ありません)|(今夜|こんや|今日|きょう).{0,10}(逝|ゆ)く"
    r"|(靴|くつ)を?(そろえ|揃え)(た|て(きた|おいた)))"
)
MEANS_TAKEN = (
    r"((薬|くすり).{0,8}(全部|ぜんぶ|たくさん|大量|いっぱい|まとめて|箱|\d+(錠|じょう|個|こ|粒|つぶ)).{0,6}(飲|の)(んだ|んじゃ|みました)"
    r"|(?<![a-z])(od|オーバードーズ)(した|しちゃった|しました)(?!こと)|(また|さっき|いま|今)(od(?![a-z])|オーバードーズ)"
    r"|(どのくらい|どれくらい|何錠|なんじょう|何個).{0,8}(飲|の)(んだら|めば)(死|し)ね"
    r"|(薬|くすり)を?(並|なら)べて|(薬|くすり).{0,12}(手元|てもと)に"
    r"|(?<!鼻)血が?(止|と)まらない|(手首|てくび|切って|きって|切った|きった).{0,10}(血|ち)が?.{0,6}(止|と)まらない"
    r"|(血|ち)が?(ぽたぽた|たまって|たれて|垂れて|あふれ)|(今|いま)(切|き)って(る|いる)"
    r"|(切|き)(って(る|いる)|りすぎ).{0,12}(血|ち)|(首|くび).{0,4}(ひも|紐|ロープ).{0,6}(かけ|用意))"
)
SELF_HARM = (
    r"((リスカ|りすか|アムカ|自傷|じしょう)|(手首|てくび|腕|うで|足|あし)を?.{0,3}(切|き)(った|ってる|っちゃ|りたい|る)"
    r"|(自分|じぶん)?の?(首|くび)を(絞|し)め(る|て)|(壁|かべ)に(頭|あたま)を?(打|う)ち"
    r"|(手|て|腕|うで|体|からだ)に?(傷|きず)を?(つけ|付け)"
    r"|(?<![a-z])od(?![a-z])|オーバードーズ)"
)
SELF_HARM_PAST = (
    r"((やめて|してない|しなくなって|やってない).{0,8}(年|ヶ月|か月|カ月|ヵ月)|(前|まえ|昔|むかし|小さい頃|中学の(時|とき)).{0,12}"
    r"(して(た|いた|ました)|やって(た|いた))|もう(して|やって)(ない|いない|ません))"
)
# Right after the matched words: "…とかじゃない", "…ことは一度もない". Not "しかない" (もう飛び降りるしかない).
NEGATION = (
    r"^((とか|って|わけ|訳|ほど)(じゃ|では)(ない|なく|ありません)|とは(思|おも)って(ない|いない|ません)"
    r"|(訳|わけ)(じゃ|では)|なんて(思|おも)ってない|(こと|事)は?(一度も|いちども|全然|ぜんぜん)?(ない|ありません)"
    r"|(たり)?(とか|って)?は?(全然|ぜんぜん|まったく|別に|べつに)?(ない|ありません|ないです|ないから|ないよ))"
)
# Words about the words: quoted, sung, asked about, written up for school. Not the writer's own state.
MENTION = (
    r"(「[^」]{0,12}$|^[^「]{0,12}」|歌詞|かし|曲|ボカロ|アニメ|漫画|まんが|小説|教科書|セリフ|台詞|レポート|ポスター"
    r"|について|サイン|どう(返|かえ)|なんて(返|かえ|言)|(打|う)ったら|気づいたら|きづいたら|ってなに|って何)"
)
HYPERBOLE = (
    r"((すぎ|過ぎ)て(死|し)|(死|し)ぬほど|(笑|わら)い(死|じ)に|(死|し)ぬ(ほど|くらい)"
    r"|(だったら|たら).{0,8}(普通に|ふつうに|まじで|マジで|ガチで|がちで)(死|し)ぬ"
    r"|(足|脚|腕|筋肉|腹筋|喉|のど|頭|目|耳|メンタル|財布|さいふ)が?(死|し)(ん|ぬ|にそう)|(心臓|しんぞう)(止|と)ま|(爆死|ばくし)"
    r"|(殺|ころ)され(た|る)?(ｗ|w|笑)|ゲームで(殺|ころ)|(死|し)んで(る|いる)(ｗ|w)?$"
    r"|(心|こころ|社会的|しゃかいてき|精神的)(が|に)?(死|し)(んだ|にました|ぬ|にそう)|rip|成仏|じょうぶつ"
    r"|(テスト|試験|部活|宿題|課題|推し|尊|ゲーム|げーむ|課金|寒|さむ|暑|あつ|眠|ねむ|腹|筋肉痛|バイト|恥ずかし|はずかし"
    r"|かわい|可愛|疲れ|つかれ|忙し|いそがし)[^。!！?？\n]{0,8}(死|し)(ぬ|んだ|にそう|ん(じゃ|だ)|にかけ|ねる))"
)
CLOSE_PEOPLE = (
    r"(父|母|親|パパ|ママ|ぱぱ|まま|お父さん|お母さん|おとうさん|おかあさん|夫|旦那|彼氏|息子|弟|妹|兄|姉|祖母|祖父"
    r"|おばあちゃん|おじいちゃん|ばあちゃん|じいちゃん|赤ちゃん|子ども|こども|おとうと|いもうと|妻|人|ひと|おばあさん|おじいさん)"
)
VIOLENCE_NOW = (
    r"((今|いま|さっきから|ずっと今).{0,12}((殴|なぐ|叩|たた|蹴|け)られ(て|てる|た)|(暴|あば)れて|(首|くび)を?(絞|し)められ)"
    r"|(殴|なぐ|叩|たた)って(る|いる)(?!(夢|ゆめ|ところ))|のこと(を)?(殴|なぐ|叩|たた|蹴|け)って(る|いる)|(物|もの)を?(投|な)げて(る|いる)"
    r"|(父|母|親|パパ|ママ|ぱぱ|まま|お父さん|お母さん|おとうさん|おかあさん|夫|旦那|彼氏|息子).{0,8}(暴|あば)れて(る|い)"
    r"|(包丁|ほうちょう|ナイフ|刃物|はもの).{0,12}(向|む)け"
    r"|(今夜|こんや|今日|きょう|帰ったら|(明日|あした|あす)まで).{0,14}(殺|ころ)すって(言|い)われ)"
)
NOWHERE_TONIGHT = (
    r"((今夜|こんや|今日|きょう|今晩).{0,14}((泊|と)まる|(寝|ね)る|(帰|かえ)る)(ところ|とこ|場所|ばしょ)が?(ない|なく)"
    r"|(今|いま|さっき|今日|きょう|今夜|こんや).{0,10}(家|いえ)(を|から)(追|お)い(出|だ)され"
    r"|(今夜|こんや|今日|きょう).{0,10}(野宿|のじゅく)|(家|いえ)から(閉|し)め(出|だ)され"
    r"|(子|こ|娘|息子|弟|妹|私|わたし|ぼく|僕|おれ|俺).{0,16}(外|そと)に(出|だ)されて(い|る)"
    r"|(締|し)め(出|だ)されて(い|る))"
)
# Someone else's body in danger now: collapsed, not breathing, will not wake.
EMERGENCY = (
    rf"({CLOSE_PEOPLE}.{{0,10}}((倒|たお)れて(る|いる|います|て)|ぐったり|(動|うご)かない)"
    r"|(息|いき)が?(へん|変|できない|してない|していない|くるしそう|苦しそう)|(呼|よ)んでも(起|お)きない"
    r"|(新聞|しんぶん)が.{0,6}(たま|溜)って|インターホン.{0,12}(出|で)て(こない|きません)"
    r"|(意識|いしき)が(ない|なく)|(いなくなった|行方不明|帰ってこない).{0,12}(認知症|にんちしょう|徘徊)"
    r"|(認知症|にんちしょう|徘徊|はいかい).{0,24}((戻|もど)(ら|りま)(ない|せん)|(帰|かえ)って(こない|きません)|いなくなっ"
    r"|(見|み)つから(ない|なく|ず)))"
)
FEAR_AT_HOME = (
    r"((帰|かえ)ると(何|なに)(され|を?され)|(家|いえ)に(帰|かえ)りたくない.{0,12}(怖|こわ|殴|なぐ|叩|たた))"
)
ONLINE = r"(ネット|sns|ツイッター|インスタ|tiktok|アプリ|dm|オフ会|パパ活|(ゲーム|げーむ|ネット).{0,6}(知り合|しりあ|出会|であ))"
MEET_SOON = r"((今日|きょう|今から|いまから|このあと|今夜|今晩|放課後).{0,20}(会|あ)う|(会|あ)いに(行|い)く|(会|あ)うこと?に(なった|した))"
ASSAULT = r"((無理やり|むりやり|レイプ|れいぷ|襲われ|おそわれ|犯され|(性的|せいてき)な(こと|行為)を(され|させられ)|(記憶|きおく)がない(間|あいだ)に|(寝|ね)て(る|いる)(間|あいだ)に.{0,6}(触|さわ|脱が|ぬが)))"
JUST_NOW = r"(さっき|今日|きょう|昨日|きのう|昨夜|ゆうべ|今朝|けさ|今|いま)"
CAREGIVER_HARM = (
    r"((父|ちち|お父さん|おとうさん|とうさん|パパ|ぱぱ|母|はは|お母さん|おかあさん|かあさん|ママ|まま|親|おや|継父|義父|義母|おじさん)"
    r".{0,14}((殴|なぐ)(られ(た|る|て)?|って)|(叩|たた)(かれ(た|る|て)?|いて)|(蹴|け)られ(た|る|て)?|(首|くび)を?(絞|し)め"
    r"|(触|さわ)って(くる|きた)|(閉|と)じ(込|こ)め"
    r"|ご(飯|はん)を?(くれ|もらえ)ない))"
)
NOT_EATING = (
    r"((\d+|[一二三四五六七]|なん)日.{0,8}(何も|なにも|ご飯|ごはん)?.{0,3}(食|た)べて(ない|いない|ません))"
)
THIRD_PARTY = r"(友達|友だち|ともだち|友人|親友|彼氏|彼女|先輩|後輩|クラスの子|クラスメイト|同級生|妹|弟|兄|姉|母|父|夫|妻|息子|娘)"
THIRD_PARTY_DANGER = r"((死|し)ぬ(って|から|」と)|(死|し)にたいって|(飛|と)び(降|お)りる|(自殺|じさつ)する|(遺書|いしょ)|(薬|くすり).{0,6}(全部|ぜんぶ)(飲|の)|(リスカ|りすか|切|き|(?<![a-z])od).{0,10}(止|と)まらな)"
LAUGH = r"(w{2,}|(?<![a-z])w(?=\s|$)|\(笑\)|笑(?=\s|$)|草(?=\s|$)|うそ(だ|です)?(よ|けど)?$)"


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    floor: Risk
    note: str  # Japanese, shown to counsellors
    topic: str | None = None  # a topic the rule makes sure is there
    guard_hyperbole: bool = False  # hyperbole in the message (すぎて死ぬ, テストで死んだ) silences it
    guard_laugh: bool = False  # laughter (ｗ, 笑) silences it too: for the softer expressions only
    guard_negation: bool = False  # "…とかじゃない" right after the match silences it
    guard_past: bool = False  # "やめて1年" in the message silences it
    guard_mention: bool = False  # quoted, lyrics, a question about it, a school report: silences it
    needs: re.Pattern[str] | None = None  # another expression the message must also contain


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


RULES: tuple[Rule, ...] = (
    Rule(
        "means_taken",
        _r(MEANS_TAKEN),
        Risk.urgent,
        "手段をすでに使った・自傷が続いている表現",
        "suicide_selfharm",
    ),
    Rule(
        "farewell",
        _r(FAREWELL),
        Risk.urgent,
        "別れや最後を告げる表現",
        "suicide_selfharm",
        guard_hyperbole=True,
        guard_laugh=True,
    ),
    Rule(
        "plan_with_time",
        _r(f"{SOON}.{{0,18}}{DIE_ACT}|{DIE_ACT}.{{0,10}}{SOON}"),
        Risk.urgent,
        "時期を伴う自殺の意図",
        "suicide_selfharm",
        guard_hyperbole=True,
    ),
    Rule(
        "plan_stated",
        _r(
            r"((飛|と)び(降|お)りる|(首|くび)を?(吊|つ)る|(自殺|じさつ)する(?!(人|ひと|の|って|こと))|(死|し)ぬって決めた|(死|し)ぬことにした"
            r"|(橋|はし|屋上|おくじょう|ビル|線路|せんろ|ホーム|崖|がけ)(から|に)(落|お)ちる"
            r"|(電車|でんしゃ|線路|せんろ)に(飛|と)び(込|こ)む)"
        ),
        Risk.urgent,
        "自殺の意図の表明",
        "suicide_selfharm",
        guard_hyperbole=True,
        guard_negation=True,
        guard_mention=True,
    ),
    Rule(
        "third_party_danger",
        _r(f"{THIRD_PARTY}.{{0,24}}{THIRD_PARTY_DANGER}"),
        Risk.urgent,
        "身近な人の差し迫った危険",
        "suicide_selfharm",
        guard_hyperbole=True,
        guard_laugh=True,
        needs=_r(
            f"{NOW}|(line|ライン|連絡|メッセージ|電話)(して|が)(きた|きて|来た|来て)|(返事|へんじ|既読|きどく)が?(ない|つかない)"
            r"|(叫|さけ)んで(い|る)"
        ),
    ),
    Rule(
        "violence_now",
        _r(VIOLENCE_NOW),
        Risk.urgent,
        "いま起きている・今夜予告された暴力",
        guard_hyperbole=True,
        guard_laugh=True,
    ),
    Rule(
        "violence_ongoing",
        _r(r"(まだ|今も|いまも)(続|つづ)いて(る|いる|います)"),
        Risk.urgent,
        "暴力がいまも続いている",
        guard_hyperbole=True,
        guard_laugh=True,
        needs=_r(r"(殴|なぐ|叩|たた|蹴|け)(ら|っ)|馬乗り|(暴|あば)れ|(首|くび)を?(絞|し)め"),
    ),
    Rule(
        "lying_in_wait",
        _r(
            r"(待ち伏せ|まちぶせ|待ちぶせ)(して|されて)(る|いる|います)|(家|いえ)の(前|まえ)に(いる|いて|立って)"
        ),
        Risk.urgent,
        "つきまとう相手がいま近くにいる",
        guard_laugh=True,
        needs=_r(r"(元彼|元カレ|元夫|別れた|ストーカー|すとーかー|知らない(人|男|ひと)|つきまと|付きまと)"),
    ),
    Rule(
        "small_child_alone",
        _r(
            r"(子|こ|赤ちゃん|あかちゃん).{0,20}(泣|な)き(叫|さけ)(んで|び)|(子|こ|赤ちゃん|あかちゃん).{0,20}ずっと(泣|な)いて"
        ),
        Risk.urgent,
        "小さな子がひとりで危ない",
        "abuse",
        needs=_r(
            r"(大人|おとな|親|おや)の(声|こえ|気配|けはい)が?(全然|ぜんぜん|まったく)?(しない|しません|聞こえない|ない)"
        ),
    ),
    Rule("nowhere_tonight", _r(NOWHERE_TONIGHT), Risk.urgent, "今夜の居場所がない"),
    Rule(
        "wish_with_time_and_place",
        _r(
            f"{SOON}.{{0,8}}(川|かわ|海|うみ|橋|はし|屋上|おくじょう|線路|せんろ|山|やま|崖|がけ)(に|へ)?(行|い)(く|きます|ってくる)"
        ),
        Risk.urgent,
        "死にたい気持ちと、時と場所",
        "suicide_selfharm",
        needs=_r(WISH),
    ),
    Rule(
        "child_left_without_food",
        _r(
            r"(母|お母さん|おかあさん|かあさん|親|おや|ママ|まま|父|お父さん|おとうさん|パパ|ぱぱ).{0,6}"
            r"(帰|かえ)って(こない|来ない|きません)"
        ),
        Risk.urgent,
        "食べ物がなく、保護者がいない",
        "abuse",
        needs=_r(NOT_EATING),
    ),
    Rule(
        "third_party_note",
        _r(
            f"{THIRD_PARTY}.{{0,24}}(遺書|いしょ)(みたいな|っぽい)?.{{0,12}}(上が|あが|投稿|書いて|のせ|載せ)"
        ),
        Risk.urgent,
        "身近な人の遺書",
        "suicide_selfharm",
    ),
    Rule(
        "emergency_now",
        _r(EMERGENCY),
        Risk.urgent,
        "身近な人の体がいま危ない",
        guard_hyperbole=True,
        guard_laugh=True,
    ),
    Rule(
        "meeting_online_contact",
        _r(MEET_SOON),
        Risk.urgent,
        "ネットで知り合った相手と今日会う約束",
        "online",
        needs=_r(ONLINE),
    ),
    Rule(
        "assault_just_now",
        _r(f"{JUST_NOW}.{{0,20}}{ASSAULT}|{ASSAULT}.{{0,12}}{JUST_NOW}"),
        Risk.urgent,
        "直後の性被害",
        "sexual",
    ),
    Rule(
        "wish_to_die",
        _r(WISH),
        Risk.high,
        "死にたい・消えたい気持ち",
        "suicide_selfharm",
        guard_hyperbole=True,
        guard_laugh=True,
        guard_negation=True,
        guard_mention=True,
    ),
    Rule(
        "self_harm",
        _r(SELF_HARM),
        Risk.high,
        "自傷（リスカ・OD など）",
        "suicide_selfharm",
        guard_hyperbole=True,
        guard_laugh=True,
        guard_negation=True,
        guard_past=True,
        guard_mention=True,
    ),
    Rule("fear_at_home", _r(FEAR_AT_HOME), Risk.high, "家に帰ることへの恐れ", "abuse"),
    Rule(
        "caregiver_harm",
        _r(CAREGIVER_HARM),
        Risk.high,
        "保護者からの暴力・ネグレクト",
        "abuse",
        guard_hyperbole=True,
        guard_laugh=True,
        guard_negation=True,
    ),
    Rule("not_eating", _r(NOT_EATING), Risk.high, "何日も食べていない"),
    Rule("assault", _r(ASSAULT), Risk.high, "性被害", "sexual", guard_negation=True),
)

_HYPERBOLE = _r(HYPERBOLE)
_NEGATION = _r(NEGATION)
_PAST = _r(SELF_HARM_PAST)
_MENTION = _r(MENTION)
_LAUGH = _r(LAUGH)


@dataclass(frozen=True)
class SafetyFinding:
    floor: Risk
    topics: list[str]
    evidence: list[Evidence]


def check(normalized: str) -> SafetyFinding:
    """Every rule that fires on this (normalised) text, the highest floor among them, and their evidence.

    Rules read the text without spaces: children often write word by word (はしから おちる)."""
    normalized = normalized.replace(" ", "")
    sentence_of = _sentences(normalized)
    past = bool(_PAST.search(normalized))
    floor = Risk.low
    topics: list[str] = []
    evidence: list[Evidence] = []
    for rule in RULES:
        if rule.guard_past and past:
            continue
        if rule.needs is not None and not rule.needs.search(normalized):
            continue
        for match in rule.pattern.finditer(normalized):
            # A joke silences a rule only in its own sentence: 部活きつすぎて死ぬ。でも今夜飛び降りる.
            sentence = sentence_of(match.start(), match.end())
            if rule.guard_hyperbole and _HYPERBOLE.search(sentence):
                continue
            if rule.guard_laugh and _LAUGH.search(sentence):
                continue
            if rule.guard_negation and _NEGATION.search(normalized[match.end() : match.end() + 16]):
                continue
            if rule.guard_mention and _mentioned(normalized, match):
                continue
            evidence.append(
                Evidence(
                    kind="rule",
                    label=rule.name,
                    supports=str(rule.floor),
                    weight=1.0,
                    matched=match.group(0),
                    span=match.span(),
                    note=rule.note,
                )
            )
            floor = max(floor, rule.floor, key=lambda r: r.rank)
            if rule.topic and rule.topic not in topics:
                topics.append(rule.topic)
            break
    return SafetyFinding(floor=floor, topics=topics, evidence=evidence)


_SENTENCE_END = re.compile(r"[。!！?？\n]")


def _sentences(text: str) -> Callable[[int, int], str]:
    """A function giving the sentence(s) that hold text[start:end]."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]

    def around(start: int, end: int) -> str:
        begin = max((e for e in ends if e <= start), default=0)
        finish = min((e for e in ends if e >= end), default=len(text))
        return text[begin:finish]

    return around


def _mentioned(normalized: str, match: re.Match[str]) -> bool:
    """The matched words are talked about (quoted, a song, a question, a report), not lived."""
    before = normalized[max(0, match.start() - 12) : match.start()]
    after = normalized[match.end() : match.end() + 12]
    return bool(_MENTION.search(before) or _MENTION.search(after))


def markers(normalized: str, finding: SafetyFinding) -> list[str]:
    """The guards' and rules' judgements as model features, so that the model can learn from them too."""
    found = [f"<rule:{e.label}>" for e in finding.evidence]
    if _HYPERBOLE.search(normalized):
        found.append("<hyperbole>")
    if _LAUGH.search(normalized):
        found.append("<joking>")
    if _PAST.search(normalized):
        found.append("<past>")
    return found
