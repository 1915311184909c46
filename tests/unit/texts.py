"""Long, spoiler-heavy review texts written for the review_text tests.

They exercise what members paste: headings, blockquotes, emoji (including ZWJ sequences and
flags), a member's own ``||spoiler||`` blocks and stray pipes, mentions that must stay whole,
a paragraph of more than 5,000 characters without a blank line, and a 5,000-character "word".
"""

from __future__ import annotations

# A link-like run of 5,000 characters with no space in it.
_URL_HEAD = "https://example.org/reel-club/archive/miracle-in-cell-no-7?"
LONG_WORD = (_URL_HEAD + "&".join(f"frame{i:04d}=still" for i in range(400)))[:5000]

_OPENING = """\
# Miracle in Cell No. 7 (2013) — a rewatch, with every spoiler

Spoilers for everything below, including the ending. @everyone who hasn't seen it: stop here, \
go watch it, come back. <@&1> this is the one I mentioned on Friday 🎬

I went in expecting a prison comedy and came out wrecked 😭. The 2019 Turkish remake and the \
2022 Indonesian one both exist, but this review is about the Korean original from 2013, the one \
with the balloon."""

_ACT_ONE = """\
## Act I

Yong-gu lives with his daughter Ye-seung in a tiny flat and sells balloons outside a school. \
He has the mind of a six-year-old, and she is the adult of the house: she checks his shoelaces, \
counts his change, and decides what they eat. The film spends its first twenty minutes making \
sure we love them both, which is of course the trap.

> "Ye-seung, Daddy will buy the Sailor Moon bag. Daddy promises."

The bag in the shop window is the engine of the whole plot. The commissioner buys the last one \
for his own daughter, Yong-gu protests, gets hit, and the next day the commissioner's daughter \
offers to show him another shop. ||She slips on the ice and dies, and Yong-gu, trying to revive \
her the way he saw on television, is found with her body.|| That is the whole case against him. \
<@123456789012345678> you called it a contrivance, and you were right, and it still works."""

_ACT_TWO = """\
## Act II

Cell No. 7 is where the film turns into a comedy again, and it is a strange, lovely comedy. The \
inmates — a smuggler, a con man, a forger, a man who has been inside so long he has forgotten \
his own trial — start out ready to beat Yong-gu and end up smuggling his daughter into the cell \
inside a box of gospel choir props 👨‍👧. She sleeps on the top bunk. They teach her to sing.

> The warden walks in, sees a seven-year-old in prison pyjamas, and simply sits down.

||The warden eventually believes him too. He is the one who finds out that Yong-gu's "confession" \
was coached: the police told him that if he said the words, he would be allowed to see his \
daughter again.|| The script cheats here and there | I don't mind | the performances carry it.

Cinematography, quickly: cold blues outside, warm ochres in the cell, and the one shot of the \
snow falling through the skylight that I would frame and hang. <#1> has the stills thread.
<:popcorn:1> <a:sob:2> 🇰🇷🇰🇷🇰🇷"""

_LONG_SENTENCES = (
    "The trial is the part of the film I find hardest to watch, because it is built so that we "
    "know exactly what happened and can do nothing about it.",
    "Yong-gu repeats the confession he was given word for word, and every time he says it he "
    "looks at his daughter for approval.",
    "The public defender barely speaks; the prosecution barely needs to.",
    "When the sentence is read, he does not understand the word, and one of his cellmates has "
    "to explain it to him in the hallway, gently, as if explaining a game.",
    "||Death.|| The film lets the word sit there for a long time.",
    "Then it does the thing I will never forgive it for and never stop loving it for: it gives "
    "the inmates a plan.",
    "They build a hot-air balloon out of scraps, plastic sheeting and a gas burner stolen from the "
    "kitchen, and on the day before the execution they try to fly father and daughter over the "
    "wall.",
    "||The balloon catches on the barbed wire.|| Of course it does.",
    "Nobody in the audience thought it would work, and nobody in the cell did either, and they "
    "did it anyway, and that is the whole film in one image.",
    "On the morning of the execution Ye-seung's birthday is celebrated in the visiting room with a "
    "cake the guards pretend not to have seen.",
    "Yong-gu counts to seven with her, the way they counted everything at home.",
    "||He walks to the gallows begging to be forgiven for something he did not do, and she is "
    "pulled away screaming through the door.||",
    "I have seen this film three times and the third time was the worst, because I knew when it "
    "was coming and I still looked at the screen instead of my hands.",
    "A member of our club said the film manipulates you, and it does, openly, the way a good "
    "magician tells you he is about to lie and then does it anyway.",
    "The difference between manipulation and craft is whether the people on screen stay people, "
    "and here they do: even the commissioner is a father first, and a bad one second.",
)

_PERFORMANCES = """\
## Performances

Ryu Seung-ryong plays Yong-gu without a single wink at the audience. It would have been so \
easy to play him for laughs, or for pity, and he does neither: he plays a man who is completely \
sure of three things (his daughter, Sailor Moon, and the rule that you wait for the green \
light) and confused by everything else. Watch his hands in the interrogation scene; they keep \
reaching for something that isn't there.
Kal So-won, who was about seven when this was shot, is the best child performance I have seen \
in years. She never plays cute. She plays responsible, which is sadder.
Park Shin-hye has the hardest job in the film, because she has to carry the frame story with \
almost no screen time, and she does it with one look at the gallery.

> "I was the one who raised him," says the cellmate, and nobody laughs, though it's a joke.

The supporting cast is a small repertory company of Korean character actors, and each of them \
gets one scene that is entirely theirs. My favourite is the forger teaching Ye-seung to read \
using the prison rule book, which doubles as a running gag and as a quiet piece of \
foreshadowing: ||the rule he makes her memorise is the one that lets the warden adopt her||."""

_FRAME_STORY = """\
## Act III — the frame story

> "Father, I'm a lawyer now. I came to tell them you were innocent."

The whole film, it turns out, is a flashback: ||the grown-up Ye-seung, now a trainee lawyer, \
argues her father's case at a mock retrial, with the old cellmates in the gallery and the \
former warden, who raised her, beside her. The court finds Yong-gu not guilty, twenty years \
too late.|| Whether that ending is cathartic or unbearable is the question our club argued \
about until one in the morning.

The last image is the balloon again, ||still caught on the wire, with the yellow ribbon she \
tied to it twenty years earlier, and then it finally comes loose and rises||. If you have \
read this far without having seen it: I warned you.

Scores from the club so far: 9, 9, 10, 7, 8 and one 4 (you know who you are).
| film | year | score |
|------|------|-------|
| Miracle in Cell No. 7 | 2013 | 9 |
| 7. Koğuştaki Mucize | 2019 | 8 |

Escapes I tested while writing this: C:\\Users\\reel\\reviews\\ and a final backslash \\
A link that goes on forever, for the archive:"""


def _long_paragraph(minimum: int) -> str:
    """One paragraph, more than ``minimum`` characters, in a single line (no blank line)."""
    sentences: list[str] = []
    rewatch = 0
    while sum(len(s) + 1 for s in sentences) <= minimum:
        sentence = _LONG_SENTENCES[len(sentences) % len(_LONG_SENTENCES)]
        if len(sentences) % len(_LONG_SENTENCES) == 0:
            rewatch += 1
            sentence = f"On rewatch number {rewatch}, what struck me first: " + sentence
        sentences.append(sentence)
    return " ".join(sentences)


LONG_PARAGRAPH = _long_paragraph(7700)

# About 17,500 characters; \n newlines (CRLF_REVIEW is the same text as a Windows file).
LONG_REVIEW = "\n\n".join(
    [
        _OPENING,
        _ACT_ONE,
        _ACT_TWO,
        "## The long middle\n\n" + LONG_PARAGRAPH,
        _PERFORMANCES,
        _FRAME_STORY,
        LONG_WORD,
        "Thanks for reading. Ratings go on the card: 🔟 from me. ||Bring tissues.||",
    ]
)
CRLF_REVIEW = LONG_REVIEW.replace("\n", "\r\n")

# Short and hostile for spoiler blocks: leading and trailing pipes, pipe runs, a code block
# with pipes in it, backslashes before pipes and at the very end.
PIPES_REVIEW = (
    "|starts with a pipe, ||closes early?|| and |||three||| and ||||four||||.\n\n"
    "```\nawk -F'|' '{print $2}' ratings.txt || echo none\n```\n\n"
    "escaped already: \\| and \\\\| and a path C:\\temp\\|\n\n"
    "ends with a pipe|"
)

# Japanese has no spaces: sentence ends are the only soft breaks.
CJK_REVIEW = "".join(
    f"第{i}場。父と娘の物語です！刑務所の七号室で、仲間たちは彼女を隠しました。"
    f"最後の場面で風船が空に上がります？"
    for i in range(1, 120)
)
