"""Copies of one report, and articles that only look like copies: the story-grouping fixtures.

Written for the tests (not taken from a corpus): a wire report about a port
storm, republished by other outlets with the edits newsrooms make, and the
cases that must stay apart: a new development written over the report's
background paragraphs, the same text republished six weeks later, and a
weather bulletin whose template other bulletins share.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from search.ingest import Document

DAY = datetime(2018, 3, 12, 9, 30, tzinfo=UTC)

WIRE = (
    "أعلنت السلطات المينائية في مدينة صفاقس صباح اليوم الاثنين إغلاق الميناء التجاري أمام حركة السفن "
    "بسبب عاصفة قوية ضربت السواحل الشرقية للبلاد منذ ساعات الفجر الأولى. وقال مدير الميناء في تصريح "
    "لوكالة الأنباء إن الرياح تجاوزت سرعتها تسعين كيلومترا في الساعة وإن الأمواج بلغت ارتفاعا غير مسبوق "
    "منذ سنوات، مضيفا أن ثلاث سفن شحن بقيت راسية خارج الحوض في انتظار تحسن الأحوال الجوية. وأوضح أن "
    "فرق الحماية المدنية تدخلت لإجلاء عدد من البحارة من قوارب الصيد الصغيرة، ولم تسجل أي إصابات بشرية "
    "حتى الآن. وتوقع المعهد الوطني للرصد الجوي أن تتواصل الاضطرابات حتى مساء الثلاثاء مع تساقط أمطار "
    "غزيرة على المناطق الساحلية، ودعا البحارة إلى عدم الخروج إلى البحر خلال اليومين القادمين."
)

# Another outlet: a new headline, a dateline, two words changed, the last sentence dropped.
EDITED = (
    "صفاقس (وكالات) - أعلنت السلطات المينائية في مدينة صفاقس صباح اليوم الاثنين إغلاق الميناء التجاري أمام "
    "حركة السفن بسبب عاصفة عنيفة ضربت السواحل الشرقية للبلاد منذ ساعات الفجر الأولى. وقال مدير الميناء في "
    "تصريح لوكالة الأنباء إن الرياح تجاوزت سرعتها تسعين كيلومترا في الساعة وإن الأمواج بلغت ارتفاعا غير "
    "مسبوق منذ سنوات، مضيفا أن ثلاث سفن شحن بقيت راسية خارج الحوض في انتظار تحسن الأحوال الجوية. وأوضح "
    "أن فرق الحماية المدنية تدخلت لإجلاء عدد من البحارة من قوارب الصيد الصغيرة، ولم تسجّل أيّ إصابات "
    "بشرية حتى الآن."
)

# The same report written with diacritics, tatweel and other hamza forms: one text for search.
RESPELLED = (
    WIRE.replace("أعلنت", "أَعْلَنَتْ").replace("الميناء", "المـيناء").replace("إصابات", "اصابات")
)

# A new development the next day, written over the report's background paragraphs.
NEW_LEAD = (
    "غرق قارب صيد قبالة جزيرة قرقنة مساء الثلاثاء وعلى متنه خمسة بحارة، أنقذت وحدات الحرس البحري أربعة "
    "منهم فيما يتواصل البحث عن الخامس، حسب ما أفاد به متحدث باسم الحرس الذي أشار إلى أن القارب غادر "
    "الميناء رغم التحذيرات وأن عمليات البحث تعطلت بسبب الظلام وارتفاع الأمواج. وكان الميناء التجاري قد "
    "أغلق أمس. "
)
DEVELOPMENT = NEW_LEAD + WIRE.split(". ", 2)[2]

# Bulletins of one template: what they share is the institute's advice, the rest is the day's facts.
# (Two bulletins that differ in a few figures only would be taken for copies: see search/grouping.py.)
WEATHER = "{facts} وينصح المعهد مستعملي الطريق بالحذر والتقيد بإرشادات السلامة."


# One wire report as two outlets published it (each rewording the narration, keeping the quotations),
# and a third outlet's own report written around the same quoted statement.
QUOTE_1 = (
    "«إن الحكومة ستخصص مبلغا إضافيا قدره مئتا مليون دينار لدعم المزارعين المتضررين من الجفاف في ولايات الوسط "
    "والجنوب، وستتكفل الدولة بجزء من فوائد القروض الموسمية وبتوزيع الأعلاف على مربي الماشية مجانا لمدة ستة أشهر»"
)
QUOTE_2 = (
    '"لن نترك أي فلاح يواجه هذه الأزمة وحده، وسنراجع أسعار الأعلاف والبذور قبل نهاية الشهر بالتشاور مع '
    'الهياكل المهنية والبنوك العمومية"'
)
QUOTE_3 = (
    "“الموسم الفلاحي القادم سيكون موسم إنقاذ، وقد طلبنا من الولاة إحصاء الخسائر في كل معتمدية وتقديم "
    "تقارير مفصلة عن حاجيات الفلاحين من مياه الري والأسمدة، كما سنفتح خطا أخضر لتلقي شكاوى المزارعين "
    "وسنعقد اجتماعا وزاريا طارئا الأسبوع المقبل لمتابعة تنفيذ هذه الإجراءات”"
)
AGENCY = (
    "أعلن وزير الفلاحة التونسي الخميس أن الحكومة قررت دعم المزارعين المتضررين من موجة الجفاف التي تضرب "
    "البلاد منذ ثلاث سنوات. ويأتي القرار بعد أسابيع من احتجاجات نظمها مربو الماشية في ولايات القيروان وسيدي "
    "بوزيد والقصرين، حيث اضطر كثيرون منهم إلى بيع قطعانهم بأسعار زهيدة بسبب غلاء الأعلاف وشح المراعي، "
    f"فيما حذرت منظمات فلاحية من موسم بذر كارثي. وقال الوزير في مؤتمر صحافي بالعاصمة {QUOTE_1}. "
    f"وأضاف {QUOTE_2}. وتابع {QUOTE_3}. وتراجع إنتاج الحبوب هذا الموسم بنسبة تقارب الستين في المئة بحسب "
    "أرقام رسمية، فيما انخفض منسوب السدود إلى أدنى مستوى له منذ عقدين. ويطالب اتحاد الفلاحين منذ أشهر "
    "بإلغاء ديون صغار المزارعين وبتوفير البذور بأسعار مدعمة."
)
AGENCY_REWORDED = (
    "وزير الفلاحة في تونس قرر يوم الخميس أن تدعم الحكومة المزارعين الذين تضرروا من الجفاف الذي يضرب "
    "البلاد منذ ثلاث سنوات. والقرار جاء بعد احتجاجات استمرت أسابيع نظمها في ولايات القيروان والقصرين وسيدي "
    "بوزيد مربو الماشية، الذين اضطر كثيرون منهم بسبب شح المراعي وغلاء الأعلاف إلى بيع قطعانهم بأسعار زهيدة، "
    f"في حين حذرت من موسم بذر كارثي منظمات فلاحية. وفي مؤتمر صحافي عقده بالعاصمة أوضح الوزير {QUOTE_1}. "
    f"وتابع {QUOTE_2}. وقال أيضا {QUOTE_3}. "
    "وبلغ تراجع إنتاج الحبوب في الموسم الحالي ستين في المئة تقريبا وفق أرقام رسمية، ومنسوب السدود انخفض "
    "إلى أدنى مستوى منذ عقدين. وإلغاء ديون صغار المزارعين وتوفير البذور بأسعار مدعمة مطلبان يرفعهما اتحاد "
    "الفلاحين منذ أشهر."
)
AROUND_THE_QUOTE = (
    "في خطوة طال انتظارها، خرج الوزير عن صمته أمام الصحافيين ليكشف خطة حكومية جديدة لمواجهة الأزمة، "
    "بعد أسابيع من الاحتجاجات التي نظمها مربو الماشية أمام مقرات الولايات وقطعهم الطرقات في أكثر من جهة، "
    "وبعد أن هددت نقابة الفلاحين بمقاطعة موسم البذر إذا لم تتدخل الدولة بسرعة. وجاء الإعلان في قاعة "
    f"مكتظة بممثلي الجمعيات والمنظمات المهنية الذين استمعوا إلى الوزير وهو يقول {QUOTE_1}. "
    f"وأكد الوزير {QUOTE_2}. وختم {QUOTE_3}."
)


def wire_reports() -> list[Document]:
    """The agency report (France 24), its reworded copy (Sky News, two hours later) and another
    outlet's report around the same quotations (BBC, an hour later)."""
    return [
        Document("agency-1", "الحكومة التونسية تدعم المزارعين المتضررين من الجفاف", AGENCY, source="France 24",
                 date=DAY),
        Document("agency-2", "تونس: دعم حكومي للفلاحين بعد ثلاث سنوات من الجفاف", AGENCY_REWORDED, source="Sky News",
                 date=DAY + timedelta(hours=2)),
        Document("around-3", "وزير الفلاحة يكشف خطة لمواجهة الجفاف", AROUND_THE_QUOTE, source="BBC",
                 date=DAY + timedelta(hours=1)),
    ]


def documents() -> list[Document]:
    return [
        Document("wire-1", "عاصفة تغلق ميناء صفاقس", WIRE, source="وكالة تونس", date=DAY),
        Document("copy-2", "إغلاق ميناء صفاقس بسبب العاصفة", EDITED, source="Mosaique", date=DAY + timedelta(hours=3)),
        Document("copy-3", "عاصفة تغلق ميناء صفاقس", RESPELLED, source="Jawhara FM", date=DAY + timedelta(days=1)),
        Document("later-4", "غرق قارب صيد قبالة قرقنة", DEVELOPMENT, source="Mosaique", date=DAY + timedelta(days=1)),
        Document("reprint-5", "عاصفة تغلق ميناء صفاقس", WIRE, source="الأرشيف", date=DAY + timedelta(days=42)),
        Document(
            "weather-6",
            "حالة الطقس ليوم الاثنين",
            WEATHER.format(
                facts="تشهد البلاد اليوم طقسا ممطرا مع نزول كميات هامة من الأمطار بالشمال والوسط قد تكون رعدية "
                "أحيانا بجهات الساحل، وتهب رياح قوية من القطاع الشرقي تصل سرعتها إلى تسعين كيلومترا في الساعة "
                "على السواحل، والبحر شديد الاضطراب. وتتراوح درجات الحرارة القصوى بين أربع عشرة درجة بالمرتفعات "
                "وتسع عشرة درجة بالجنوب."
            ),
            source="Jawhara FM",
            date=DAY,
        ),
        Document(
            "weather-7",
            "حالة الطقس ليوم الثلاثاء",
            WEATHER.format(
                facts="يكون الطقس غدا مشمسا في أغلب الجهات مع ظهور بعض السحب العابرة بالشمال الغربي، والرياح "
                "ضعيفة إلى معتدلة من القطاع الغربي، والبحر هادئ إلى قليل الاضطراب. وتشهد درجات الحرارة ارتفاعا "
                "طفيفا لتتراوح القصوى بين سبع عشرة درجة بالسواحل الشمالية وثلاث وعشرين درجة بالجنوب الغربي."
            ),
            source="Jawhara FM",
            date=DAY + timedelta(days=1),
        ),
    ]


def added_copy() -> Document:
    """A copy that arrives later, through `baheth add`."""
    return Document("copy-8", "ميناء صفاقس مغلق", EDITED, source="Shems FM", date=DAY + timedelta(hours=5))


# A daily digest: one opening, then that day's headlines (JawharaFM publishes one every evening).
DIGEST_OPENING = (
    'موعد يومي مع أبرز الأحداث والمستجدات على الساحة الوطنية خلال 24 ساعة تؤمنه لكم الجوهرة "أف أم"\n'
)
DIGEST_HEADLINES = [
    "الشاهد يقرر حذف وزارة الوظيفة العمومية",
    "رئاسة الحكومة تنفي خبر إقالة وزير التربية",
    "مخابز سوسة ترفض الإضراب",
    "أستراليا تحذر من عملية إرهابية وشيكة",
    "تمتيع 1433 سجينا بالعفو الخاص",
    "خروج قطار عن السكة في برج السدرية",
    "وزير البيئة يدعو إلى التخلي عن الأكياس البلاستيكية",
    "انطلاق موسم جني الزيتون في صفاقس",
    "تعليق رحلات الخطوط التونسية نحو جدة",
    "حجز كميات من السجائر المهربة في بنقردان",
    "ارتفاع أسعار الخضر في الأسواق الأسبوعية",
    "إنقاذ ستة بحارة قبالة سواحل نابل",
    "تأجيل النظر في ملف إثارة النجم الساحلي",
]


def digests(days: int = 12) -> list[Document]:
    """One digest a day for ``days`` days, each with its day's headline after the common opening."""
    return [
        Document(f"digest-{n}", f"أبرز أحداث اليوم {n + 1}", DIGEST_OPENING + DIGEST_HEADLINES[n],
                 source="Jawhara FM", date=DAY + timedelta(days=n, hours=14))
        for n in range(days)
    ]


# A running story rewritten in three passes (one outlet, a day apart), each keeping the later half of
# the pass before and adding new paragraphs: the first and the second are copies, the second and the
# third too, the first and the third share too little. Copies connected through the second: one group.
_RUNNING = (WIRE + " " + AGENCY + " " + AROUND_THE_QUOTE).split()


def running_story() -> list[Document]:
    """The three passes: pass-1 (words 0-99 of the running text), pass-2 (30-129), pass-3 (60-159)."""
    titles = ["عاصفة تغلق ميناء صفاقس", "العاصفة تتواصل والحكومة تتحرك", "الحكومة تدعم الفلاحين بعد العاصفة"]
    return [
        Document(f"pass-{n + 1}", titles[n], " ".join(_RUNNING[30 * n : 30 * n + 100]), source="وكالة تونس",
                 date=DAY + timedelta(days=n))
        for n in range(3)
    ]


def earlier_pass() -> Document:
    """The first pass as another outlet had published it two days before (a copy of pass-1 only)."""
    return Document("pass-0", "عاصفة في صفاقس", " ".join(_RUNNING[0:100]), source="Mosaique",
                    date=DAY - timedelta(days=2))


def third_pass_copy() -> Document:
    """The third pass as another outlet republished it three hours later, under a dateline."""
    return Document("pass-3b", "الحكومة تدعم الفلاحين", "تونس (وكالات) - " + " ".join(_RUNNING[60:160]),
                    source="Mosaique", date=DAY + timedelta(days=2, hours=3))
