"""The knowledge base at 1k, 10k and 100k records: build, sync, search latency, memory.

Run: .venv-app/bin/python benchmarks/kb_scale.py --sizes 1000,10000,100000 [--queries 200]

The catalogue is the demo brand's (knowledge/) grown with generated products and FAQs in Chinese
and English: brand lines, product names, categories, sizes, prices, skin types, concerns, key
actives and INCI lists, descriptions composed from many phrasings; FAQs about single products
(pregnancy, usage, skin types, shelf life) and about shipping, returns, payment and membership;
a few promotions. Record ``i`` depends only on ``(--seed, i)``, so the 1k catalogue is the first
1,000 records of the 10k one.

Embedding 100k records takes hours on 2 cores, so built Chroma stores are cached under
``--cache-dir`` (with the build's own figures), and every passage vector the model computed is
kept in a vector cache there: a store whose layout changed is rebuilt without the model. Each
size is measured in a fresh worker process on a copy of its cached store (the copy is changed
by the sync measurements, the cache is not), so RSS figures are per size.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.knowledge.documents import DOCUMENT_VERSION, build_document  # noqa: E402
from assistant.knowledge.loader import load_records  # noqa: E402
from assistant.knowledge.schema import Faq, Product, Promotion, Record  # noqa: E402

# Bump when the generator changes what it produces: cached stores are keyed on it.
GENERATOR_VERSION = 1
KB_NAME = "scale"

# ============================================================================ catalogue

# Brand lines: (zh, en, id code, price factor).
LINES: list[tuple[str, str, str, float]] = [
    ("澜屿", "LANYU", "LY", 1.0),
    ("澜屿研究所", "LANYU Lab", "LL", 1.4),
    ("清研", "Qingyan", "QY", 0.8),
    ("木槿集", "Mujin", "MJ", 0.7),
    ("素野", "Suye", "SY", 0.6),
    ("青禾", "Qinghe", "QH", 0.75),
    ("极光之森", "Aurora Forest", "AF", 1.2),
    ("沐澈", "Muche", "MC", 0.9),
    ("初岚", "Chulan", "CL", 1.1),
    ("白露", "Bailu", "BL", 1.3),
    ("雾屿", "Wuyu", "WY", 1.6),
    ("栖溪", "Qixi", "QX", 0.85),
]

# category: (id code, weight, base price, sizes, types [(zh, en)], routine steps)
CATEGORIES: dict[str, tuple[str, int, float, list[str], list[tuple[str, str]], list[str]]] = {
    "serum": (
        "SE",
        20,
        199,
        ["30 ml", "50 ml", "15 ml", "40 ml", "100 ml"],
        [
            ("精华液", "Serum"),
            ("精华", "Essence"),
            ("安瓶", "Ampoule"),
            ("精华油", "Oil Serum"),
            ("原液", "Concentrate"),
            ("精华乳", "Serum Lotion"),
        ],
        ["treat"],
    ),
    "moisturizer": (
        "MO",
        14,
        169,
        ["50 g", "50 ml", "100 ml", "30 g", "75 ml"],
        [
            ("面霜", "Cream"),
            ("乳液", "Lotion"),
            ("凝露", "Gel Cream"),
            ("保湿霜", "Moisturizer"),
            ("精华霜", "Rich Cream"),
            ("修护乳", "Emulsion"),
        ],
        ["moisturize"],
    ),
    "cleanser": (
        "CL",
        11,
        89,
        ["100 g", "120 g", "150 ml", "200 ml", "50 g"],
        [
            ("洁面乳", "Cleanser"),
            ("洁面慕斯", "Cleansing Mousse"),
            ("洁面啫喱", "Gel Cleanser"),
            ("洁颜粉", "Cleansing Powder"),
            ("洁面霜", "Cream Cleanser"),
            ("洗面奶", "Face Wash"),
        ],
        ["cleanse"],
    ),
    "toner": (
        "TO",
        11,
        129,
        ["150 ml", "200 ml", "100 ml", "300 ml"],
        [
            ("爽肤水", "Toner"),
            ("化妆水", "Softening Toner"),
            ("精华水", "Essence Toner"),
            ("保湿喷雾", "Face Mist"),
            ("湿敷水", "Compress Toner"),
        ],
        ["treat", "moisturize"],
    ),
    "sunscreen": (
        "SU",
        10,
        149,
        ["50 ml", "40 ml", "30 ml", "15 g", "150 ml"],
        [
            ("防晒乳", "Sunscreen"),
            ("防晒霜", "Sun Cream"),
            ("防晒精华", "Sun Essence"),
            ("防晒喷雾", "Sun Spray"),
            ("防晒棒", "Sun Stick"),
        ],
        ["protect"],
    ),
    "mask": (
        "MA",
        10,
        119,
        ["5 sheets", "10 sheets", "100 g", "80 g", "50 ml"],
        [
            ("面膜", "Sheet Mask"),
            ("泥膜", "Clay Mask"),
            ("睡眠面膜", "Sleeping Mask"),
            ("涂抹面膜", "Wash-Off Mask"),
            ("冻膜", "Jelly Mask"),
        ],
        ["treat", "moisturize"],
    ),
    "remover": (
        "RE",
        5,
        99,
        ["200 ml", "400 ml", "100 g", "150 ml"],
        [
            ("卸妆油", "Cleansing Oil"),
            ("卸妆水", "Micellar Water"),
            ("卸妆膏", "Cleansing Balm"),
            ("卸妆啫喱", "Cleansing Gel"),
            ("卸妆乳", "Cleansing Milk"),
        ],
        ["cleanse"],
    ),
    "eye": (
        "EY",
        6,
        229,
        ["15 g", "15 ml", "20 g", "10 ml"],
        [
            ("眼霜", "Eye Cream"),
            ("眼部精华", "Eye Serum"),
            ("眼膜", "Eye Patches"),
            ("眼部凝胶", "Eye Gel"),
        ],
        ["treat", "moisturize"],
    ),
    "body": (
        "BO",
        9,
        109,
        ["200 ml", "250 ml", "300 ml", "400 ml", "500 ml", "200 g"],
        [
            ("身体乳", "Body Lotion"),
            ("身体霜", "Body Cream"),
            ("沐浴露", "Body Wash"),
            ("护手霜", "Hand Cream"),
            ("身体精华", "Body Serum"),
            ("身体磨砂膏", "Body Scrub"),
        ],
        ["moisturize", "cleanse"],
    ),
}


@dataclass(frozen=True)
class Active:
    """A key active: names, what it does, and what it implies for the product."""

    zh: str
    en: str
    inci: str
    benefit_zh: str
    benefit_en: str
    concerns: tuple[str, ...]
    strengths: tuple[str, ...] = ()
    pregnancy_unsafe: bool = False
    irritating: bool = False
    time: tuple[str, ...] = ("am", "pm")


ACTIVES: list[Active] = [
    Active(
        "烟酰胺",
        "Niacinamide",
        "Niacinamide",
        "提亮肤色、帮助控油",
        "evens tone and helps control oil",
        ("dullness", "oiliness", "pores"),
        ("5%", "10%", "4%"),
    ),
    Active(
        "玻尿酸",
        "Hyaluronic Acid",
        "Sodium Hyaluronate",
        "多重分子量补水保湿",
        "hydrates at several depths",
        ("dryness",),
        ("1%", "2%"),
    ),
    Active(
        "积雪草",
        "Centella",
        "Centella Asiatica Extract",
        "舒缓泛红、帮助修护",
        "soothes redness and supports repair",
        ("redness", "barrier"),
    ),
    Active(
        "水杨酸",
        "Salicylic Acid",
        "Salicylic Acid",
        "疏通毛孔、减少黑头和闭口",
        "clears pores, blackheads and clogged bumps",
        ("acne", "blackheads", "pores"),
        ("0.5%", "2%", "1%"),
        irritating=True,
        time=("pm",),
    ),
    Active(
        "视黄醇",
        "Retinol",
        "Retinol",
        "淡化细纹、改善粗糙",
        "softens fine lines and rough texture",
        ("aging", "pores"),
        ("0.1%", "0.3%", "0.5%"),
        pregnancy_unsafe=True,
        irritating=True,
        time=("pm",),
    ),
    Active(
        "视黄醛",
        "Retinal",
        "Retinal",
        "更快见效的维A，紧致淡纹",
        "a faster-acting vitamin A for firmer, smoother skin",
        ("aging",),
        ("0.05%", "0.1%"),
        pregnancy_unsafe=True,
        irritating=True,
        time=("pm",),
    ),
    Active(
        "维C",
        "Vitamin C",
        "Ascorbic Acid",
        "抗氧化、提亮暗沉",
        "antioxidant that brightens dullness",
        ("dullness", "pigmentation"),
        ("10%", "15%", "20%"),
        irritating=True,
        time=("am",),
    ),
    Active(
        "神经酰胺",
        "Ceramide",
        "Ceramide NP",
        "补充屏障脂质、减轻干燥",
        "replenishes barrier lipids and eases dryness",
        ("barrier", "dryness"),
    ),
    Active(
        "角鲨烷",
        "Squalane",
        "Squalane",
        "轻盈润泽不闷痘",
        "light nourishment that does not clog pores",
        ("dryness",),
    ),
    Active(
        "多肽",
        "Peptide",
        "Palmitoyl Tripeptide-1",
        "紧致、淡化细纹",
        "firms and smooths fine lines",
        ("aging",),
    ),
    Active(
        "蓝铜胜肽",
        "Copper Peptide",
        "Copper Tripeptide-1",
        "修护、改善弹性",
        "repairs and improves elasticity",
        ("aging", "barrier"),
        time=("pm",),
    ),
    Active(
        "二裂酵母",
        "Bifida Ferment",
        "Bifida Ferment Lysate",
        "稳定肌肤状态、提升光泽",
        "keeps skin steady and adds glow",
        ("barrier", "dullness"),
    ),
    Active(
        "传明酸",
        "Tranexamic Acid",
        "Tranexamic Acid",
        "淡化色斑和痘印",
        "fades dark spots and acne marks",
        ("pigmentation",),
        ("2%", "3%"),
    ),
    Active(
        "熊果苷",
        "Alpha-Arbutin",
        "Alpha-Arbutin",
        "均匀肤色",
        "evens out skin tone",
        ("pigmentation", "dullness"),
        ("2%",),
    ),
    Active(
        "果酸",
        "AHA",
        "Glycolic Acid",
        "温和焕肤、改善粗糙暗沉",
        "resurfaces rough, dull skin",
        ("dullness", "pores"),
        ("5%", "10%"),
        irritating=True,
        time=("pm",),
    ),
    Active(
        "杏仁酸",
        "Mandelic Acid",
        "Mandelic Acid",
        "温和代谢角质",
        "gently loosens dead skin cells",
        ("acne", "pores"),
        ("5%", "10%"),
        irritating=True,
        time=("pm",),
    ),
    Active(
        "茶树",
        "Tea Tree",
        "Melaleuca Alternifolia Leaf Oil",
        "清爽控油",
        "keeps oily skin fresh",
        ("oiliness", "acne"),
        irritating=True,
    ),
    Active(
        "绿茶",
        "Green Tea",
        "Camellia Sinensis Leaf Extract",
        "抗氧化、平衡油脂",
        "antioxidant that balances oil",
        ("oiliness",),
    ),
    Active(
        "泛醇",
        "Panthenol",
        "Panthenol",
        "舒缓保湿",
        "soothes and hydrates",
        ("dryness", "redness"),
        ("5%",),
    ),
    Active(
        "依克多因",
        "Ectoin",
        "Ectoin",
        "增强肌肤抵御力",
        "helps skin withstand stress",
        ("barrier", "redness"),
    ),
    Active(
        "麦角硫因",
        "Ergothioneine",
        "Ergothioneine",
        "抗氧化、提亮",
        "antioxidant that brightens",
        ("dullness", "aging"),
    ),
    Active(
        "虾青素",
        "Astaxanthin",
        "Astaxanthin",
        "抗氧化、抗初老",
        "antioxidant against early signs of aging",
        ("aging",),
    ),
    Active(
        "燕麦",
        "Oat",
        "Avena Sativa Kernel Extract",
        "舒缓干痒",
        "calms dry, itchy skin",
        ("dryness", "redness"),
    ),
    Active(
        "白茶",
        "White Tea",
        "Camellia Sinensis Leaf Extract",
        "抗氧化、轻盈保湿",
        "antioxidant, light hydration",
        ("dryness", "dullness"),
    ),
    Active(
        "玫瑰",
        "Rose",
        "Rosa Damascena Flower Water",
        "保湿、带来好气色",
        "hydrates and adds a healthy glow",
        ("dryness", "dullness"),
    ),
    Active(
        "咖啡因",
        "Caffeine",
        "Caffeine",
        "减轻浮肿和黑眼圈",
        "reduces puffiness and dark circles",
        ("dark_circles",),
    ),
    Active(
        "补骨脂酚",
        "Bakuchiol",
        "Bakuchiol",
        "温和的视黄醇替代",
        "a gentle retinol alternative",
        ("aging",),
        time=("pm",),
    ),
    Active(
        "黄芩",
        "Baikal Skullcap",
        "Scutellaria Baicalensis Root Extract",
        "控油、舒缓痘痘",
        "controls oil and calms breakouts",
        ("oiliness", "acne"),
    ),
    Active(
        "马齿苋",
        "Purslane",
        "Portulaca Oleracea Extract",
        "舒缓镇静",
        "calms and soothes",
        ("redness",),
    ),
    Active(
        "乳木果",
        "Shea Butter",
        "Butyrospermum Parkii Butter",
        "深层滋润",
        "deep nourishment",
        ("dryness", "barrier"),
    ),
    Active(
        "高岭土",
        "Kaolin",
        "Kaolin",
        "吸附多余油脂",
        "absorbs excess oil",
        ("oiliness", "pores", "blackheads"),
    ),
    Active(
        "米酵素",
        "Rice Ferment",
        "Saccharomyces/Rice Ferment Filtrate",
        "提亮透亮",
        "brightens and adds clarity",
        ("dullness",),
    ),
    Active(
        "氧化锌",
        "Zinc Oxide",
        "Zinc Oxide",
        "物理防晒、温和不刺激",
        "mineral UV protection, gentle on skin",
        ("sun_protection",),
        time=("am",),
    ),
    Active(
        "乳酸",
        "Lactic Acid",
        "Lactic Acid",
        "柔嫩肌肤、改善粗糙",
        "softens and smooths rough skin",
        ("dryness", "dullness"),
        ("5%", "10%"),
        irritating=True,
        time=("pm",),
    ),
    Active(
        "胶原蛋白",
        "Collagen",
        "Hydrolyzed Collagen",
        "保湿、提升弹润感",
        "hydrates and plumps",
        ("aging", "dryness"),
    ),
    Active(
        "海藻",
        "Seaweed",
        "Laminaria Japonica Extract",
        "水润保湿",
        "keeps skin hydrated",
        ("dryness",),
    ),
]

EFFECTS: dict[str, list[tuple[str, str]]] = {
    "dryness": [("水润保湿", "Hydrating"), ("补水", "Moisture"), ("滋润", "Nourishing")],
    "barrier": [("屏障修护", "Barrier Repair"), ("修护", "Recovery")],
    "redness": [("舒缓", "Calming"), ("镇静", "Soothing")],
    "dullness": [("焕亮", "Brightening"), ("亮肤", "Radiance"), ("透亮", "Glow")],
    "pigmentation": [("淡斑", "Spot-Fading"), ("匀净", "Even-Tone")],
    "aging": [("紧致抗皱", "Firming"), ("抗老", "Age-Defying"), ("焕活", "Renewal")],
    "acne": [("净痘", "Blemish"), ("祛痘", "Clear Skin")],
    "oiliness": [("控油", "Oil-Control"), ("清爽", "Fresh")],
    "pores": [("毛孔净透", "Pore-Refining"), ("细致", "Pore-Minimising")],
    "blackheads": [("净透", "Clarifying"), ("去黑头", "Blackhead")],
    "sun_protection": [("防晒", "UV Shield"), ("防护", "Defense")],
    "dark_circles": [("亮眼", "Bright-Eye"), ("淡黑眼圈", "Dark-Circle")],
}

EDITIONS: list[tuple[str, str, int]] = [  # (zh suffix, en suffix, weight)
    ("", "", 70),
    ("（旅行装）", " (Travel Size)", 6),
    ("升级版", " Plus", 8),
    ("2代", " II", 6),
    ("（限定版）", " (Limited Edition)", 4),
    ("（补充装）", " (Refill)", 3),
    ("（家庭装）", " (Family Size)", 3),
]

TEXTURES: dict[str, list[tuple[str, str]]] = {
    "serum": [
        ("清透水感", "a clear, watery"),
        ("微凝胶", "a light gel"),
        ("丝滑乳状", "a silky milky"),
        ("轻盈油状", "a light oil"),
    ],
    "moisturizer": [
        ("丰润霜状", "a rich cream"),
        ("轻盈乳液", "a light lotion"),
        ("水润凝露", "a bouncy gel"),
        ("柔滑霜状", "a smooth cream"),
    ],
    "cleanser": [
        ("绵密泡沫", "a dense, creamy foam"),
        ("透明啫喱", "a clear gel"),
        ("细腻乳霜", "a fine cream"),
        ("细粉", "a fine powder"),
    ],
    "toner": [
        ("清爽水状", "a fresh, watery"),
        ("微稠精华水", "a slightly thick essence"),
        ("细腻喷雾", "a fine mist"),
    ],
    "sunscreen": [
        ("清爽乳液", "a light fluid"),
        ("水感精华", "a watery essence"),
        ("柔滑霜状", "a smooth cream"),
        ("速干喷雾", "a quick-dry spray"),
    ],
    "mask": [
        ("精华液浸润膜布", "a serum-soaked sheet"),
        ("细腻泥状", "a smooth clay"),
        ("果冻", "a jelly"),
        ("乳霜", "a creamy"),
    ],
    "remover": [
        ("轻盈油状", "a light oil"),
        ("清爽水状", "a water-light"),
        ("固态膏状", "a solid balm"),
        ("啫喱", "a gel"),
    ],
    "eye": [
        ("细腻霜状", "a fine cream"),
        ("清凉凝胶", "a cooling gel"),
        ("轻盈精华", "a light serum"),
    ],
    "body": [
        ("轻盈乳液", "a light lotion"),
        ("滋润霜状", "a rich cream"),
        ("绵密泡沫", "a creamy lather"),
        ("细砂", "a fine scrub"),
    ],
}

FEELS: list[tuple[str, str]] = [
    ("上脸很快吸收，不黏腻", "sinks in quickly without feeling sticky"),
    ("用后皮肤柔软有光泽", "leaves skin soft with a healthy sheen"),
    ("不搓泥，叠加底妆也服帖", "does not pill and sits well under makeup"),
    ("肤感清爽，夏天也不闷", "feels fresh, even in summer"),
    ("滋润度高，干燥季节也不紧绷", "rich enough that skin does not feel tight in dry weather"),
    ("气味清淡，几乎闻不到", "has a faint, barely noticeable scent"),
    ("带淡淡植物香气", "has a light botanical scent"),
    ("用后哑光不油亮", "dries down to a matte finish"),
]

SCENARIOS: list[tuple[str, str]] = [
    ("空调房和换季时使用", "good in air-conditioned rooms and when the seasons change"),
    ("熬夜后急救", "a rescue after late nights"),
    ("夏季通勤", "summer commutes"),
    ("军训、户外运动", "outdoor sports and long days outside"),
    ("秋冬干燥季节", "dry autumn and winter weather"),
    ("化妆前打底", "prepping skin before makeup"),
    ("长时间戴口罩后", "skin that has been under a mask all day"),
    ("出差旅行随身携带", "travel and business trips"),
    ("学生党日常", "students on a budget"),
    ("刚开始护肤的新手", "people new to skincare"),
]

CLAIMS: list[tuple[str, str]] = [
    (
        "经第三方机构测试，连续使用28天后皮肤含水量提升{n}%。",
        "In third-party testing, skin moisture rose {n}% after 28 days of use.",
    ),
    (
        "{n}人试用4周，{m}%认为肤感舒适、愿意回购。",
        "In a 4-week trial with {n} people, {m}% found it comfortable and would buy again.",
    ),
    ("通过敏感肌人群斑贴测试。", "Patch-tested on people with sensitive skin."),
    ("无动物实验，瓶身可回收。", "Not tested on animals; the bottle is recyclable."),
    ("真空按压瓶，减少氧化和污染。", "An airless pump limits oxidation and contamination."),
    ("添加{active}，{benefit}。", "With {active}, which {benefit}."),
    ("获{year}年度{award}。", "Winner of the {year} {award_en}."),
]
AWARDS = [
    ("美妆口碑大赏", "Beauty Word-of-Mouth Award"),
    ("成分党推荐榜", "Ingredient Lovers' Pick"),
    ("年度好物", "Product of the Year"),
]

SKIN_ZH = {
    "oily": "油皮",
    "dry": "干皮",
    "combination": "混合皮",
    "normal": "中性皮",
    "sensitive": "敏感肌",
}
SKIN_EN = {
    "oily": "oily skin",
    "dry": "dry skin",
    "combination": "combination skin",
    "normal": "normal skin",
    "sensitive": "sensitive skin",
}
CONCERN_ZH = {
    "acne": "痘痘",
    "oiliness": "出油",
    "dryness": "干燥",
    "dullness": "暗沉",
    "pigmentation": "色斑",
    "aging": "细纹",
    "redness": "泛红",
    "pores": "毛孔粗大",
    "blackheads": "黑头",
    "sun_protection": "防晒",
    "dark_circles": "黑眼圈",
    "barrier": "屏障受损",
}
CONCERN_EN = {
    "acne": "breakouts",
    "oiliness": "oily shine",
    "dryness": "dryness",
    "dullness": "dullness",
    "pigmentation": "dark spots",
    "aging": "fine lines",
    "redness": "redness",
    "pores": "large pores",
    "blackheads": "blackheads",
    "sun_protection": "sun protection",
    "dark_circles": "dark circles",
    "barrier": "a damaged barrier",
}
CAT_ZH = {
    "serum": "精华",
    "moisturizer": "面霜",
    "cleanser": "洗面奶",
    "toner": "爽肤水",
    "sunscreen": "防晒",
    "mask": "面膜",
    "remover": "卸妆",
    "eye": "眼霜",
    "body": "身体乳",
}
CAT_EN = {
    "serum": "serum",
    "moisturizer": "moisturizer",
    "cleanser": "cleanser",
    "toner": "toner",
    "sunscreen": "sunscreen",
    "mask": "face mask",
    "remover": "makeup remover",
    "eye": "eye cream",
    "body": "body lotion",
}

CITIES: list[tuple[str, str, int]] = [
    ("北京", "Beijing", 2),
    ("上海", "Shanghai", 1),
    ("广州", "Guangzhou", 2),
    ("深圳", "Shenzhen", 2),
    ("杭州", "Hangzhou", 1),
    ("成都", "Chengdu", 3),
    ("重庆", "Chongqing", 3),
    ("武汉", "Wuhan", 2),
    ("西安", "Xi'an", 3),
    ("南京", "Nanjing", 1),
    ("苏州", "Suzhou", 1),
    ("天津", "Tianjin", 2),
    ("长沙", "Changsha", 2),
    ("郑州", "Zhengzhou", 2),
    ("沈阳", "Shenyang", 3),
    ("哈尔滨", "Harbin", 4),
    ("昆明", "Kunming", 4),
    ("南宁", "Nanning", 3),
    ("贵阳", "Guiyang", 3),
    ("兰州", "Lanzhou", 4),
    ("乌鲁木齐", "Urumqi", 6),
    ("拉萨", "Lhasa", 7),
    ("海口", "Haikou", 4),
    ("三亚", "Sanya", 4),
    ("厦门", "Xiamen", 2),
    ("福州", "Fuzhou", 2),
    ("青岛", "Qingdao", 2),
    ("济南", "Jinan", 2),
    ("合肥", "Hefei", 2),
    ("南昌", "Nanchang", 2),
    ("大连", "Dalian", 3),
    ("宁波", "Ningbo", 1),
    ("无锡", "Wuxi", 1),
    ("石家庄", "Shijiazhuang", 2),
    ("太原", "Taiyuan", 3),
    ("呼和浩特", "Hohhot", 4),
    ("银川", "Yinchuan", 4),
    ("西宁", "Xining", 5),
]
COUNTRIES: list[tuple[str, str, int, int]] = [  # zh, en, days, fee
    ("新加坡", "Singapore", 6, 60),
    ("马来西亚", "Malaysia", 8, 70),
    ("日本", "Japan", 5, 80),
    ("韩国", "South Korea", 5, 70),
    ("美国", "the United States", 12, 150),
    ("加拿大", "Canada", 12, 150),
    ("澳大利亚", "Australia", 10, 130),
    ("英国", "the United Kingdom", 12, 150),
    ("德国", "Germany", 12, 150),
    ("泰国", "Thailand", 8, 70),
    ("新西兰", "New Zealand", 12, 140),
    ("法国", "France", 12, 150),
]
HOLIDAYS = [
    ("春节", "Spring Festival", "腊月廿五", "the 25th of the last lunar month"),
    ("国庆", "National Day holiday", "9月30日", "30 September"),
    ("双十一", "Singles' Day (11.11)", "11月10日", "10 November"),
    ("618", "the 618 sale", "6月17日", "17 June"),
    ("五一", "May Day holiday", "4月30日", "30 April"),
    ("中秋", "Mid-Autumn Festival", "中秋前一天", "the day before Mid-Autumn"),
    ("元旦", "New Year's Day", "12月31日", "31 December"),
]
RETURN_CASES: list[tuple[str, str, str, str]] = [  # zh case, en clause after "a <product>"
    (
        "拆封了但没用过",
        "that I opened but never used",
        "未使用的商品签收7天内可以无理由退货，外包装拆开不影响。",
        "Unused items can be returned within 7 days of delivery for any reason, even if the box "
        "is opened.",
    ),
    (
        "已经用了一半",
        "that I have already half used",
        "用过的商品不支持无理由退货；如果是质量问题或过敏，请联系客服处理。",
        "Used items cannot be returned without a reason; for a quality problem or a reaction, "
        "contact us.",
    ),
    (
        "外盒压坏了",
        "whose box arrived crushed",
        "请在签收48小时内拍照联系客服，我们会补发或退款。",
        "Send us photos within 48 hours of delivery and we will resend or refund.",
    ),
    (
        "超过7天了",
        "after more than 7 days",
        "超过7天不支持无理由退货，质量问题在保质期内都可以申请售后。",
        "No-reason returns end after 7 days; quality problems are covered while the product is in "
        "date.",
    ),
    (
        "买错规格了",
        "that I bought in the wrong size",
        "未拆封可在7天内退换，换货运费由买家承担一次。",
        "Unopened items can be returned or exchanged within 7 days; you pay shipping once for an "
        "exchange.",
    ),
    (
        "赠品弄丢了",
        "if I lost the free gift",
        "退货时需一并退回赠品，赠品缺失会按赠品价值从退款中扣除。",
        "Return the gift with the item; a missing gift is deducted from the refund at its value.",
    ),
    (
        "直播间买的",
        "that I bought in a livestream",
        "直播间订单和商城订单售后规则相同，签收7天内可无理由退货。",
        "Livestream orders follow the same rules: no-reason returns within 7 days of delivery.",
    ),
    (
        "活动价买的",
        "that I bought at a sale price",
        "活动商品同样支持7天无理由退货，按实付金额退款。",
        "Sale items can also be returned within 7 days; we refund what you paid.",
    ),
    (
        "过敏了",
        "that gave me a skin reaction",
        "请停用并拍照联系客服，经确认后可以退货退款，运费由我们承担。",
        "Stop using it and send us photos; once confirmed we refund it and pay the return "
        "shipping.",
    ),
    (
        "收到的是临期品",
        "that is close to its expiry date",
        "临期商品会在详情页注明；未注明的可以联系客服退换。",
        "Short-dated items are marked on the product page; if it was not marked, we exchange or "
        "refund.",
    ),
]
PAY_CHANNELS = [
    ("微信支付", "WeChat Pay", "1-3"),
    ("支付宝", "Alipay", "1-3"),
    ("花呗", "Huabei", "1-7"),
    ("信用卡", "credit card", "3-15"),
    ("礼品卡", "gift card", "即时"),
    ("云闪付", "UnionPay QuickPass", "1-5"),
]
TIERS = [
    ("银卡", "Silver", 0, 95, 1),
    ("金卡", "Gold", 1000, 90, 1.5),
    ("黑金", "Black Gold", 5000, 88, 2),
]
COURIERS = [
    ("中通", "ZTO"),
    ("圆通", "YTO"),
    ("顺丰", "SF Express"),
    ("京东物流", "JD Logistics"),
    ("韵达", "Yunda"),
    ("EMS", "EMS"),
]
MALLS = ["万象城", "太古里", "大悦城", "IFS国金中心", "来福士", "银泰百货", "K11", "恒隆广场"]
CHANNELS = ["tmall", "wechat", "douyin", "jd", "offline"]

# Demo catalogue usage texts are reused per category: real catalogues repeat them too.


def _pick(rng: random.Random, items: Sequence[Any]) -> Any:
    return items[rng.randrange(len(items))]


def _weighted(rng: random.Random, items: Sequence[tuple[Any, int]]) -> Any:
    total = sum(w for _, w in items)
    x = rng.uniform(0, total)
    for item, weight in items:
        x -= weight
        if x <= 0:
            return item
    return items[-1][0]


def _price(base: float, factor: float, rng: random.Random) -> float:
    raw = base * factor * rng.uniform(0.55, 1.8)
    return float(max(19, int(round(raw / 10.0)) * 10 - 1))


class Catalogue:
    """The demo catalogue grown to any size, one record per index, deterministically."""

    def __init__(self, demo: list[Record], seed: int = 7) -> None:
        self.demo = demo
        self.seed = seed
        self.demo_products = [r for r in demo if isinstance(r, Product)]
        self.usage_by_cat: dict[str, list[tuple[str, str]]] = {}
        self.inci_by_cat: dict[str, list[str]] = {}
        for p in self.demo_products:
            self.usage_by_cat.setdefault(p.category, []).append((p.usage_zh, p.usage_en))
            self.inci_by_cat.setdefault(p.category, []).append(p.ingredients)
        self._kind_cache: dict[int, str] = {}

    @property
    def key(self) -> str:
        """Changes when the generator, its seed or the demo catalogue change."""
        digest = hashlib.sha256(f"{GENERATOR_VERSION}:{self.seed}".encode())
        for r in self.demo:
            digest.update(json.dumps(r.model_dump(mode="json"), sort_keys=True).encode())
        return digest.hexdigest()[:10]

    def records(self, n: int) -> list[Record]:
        """The first ``n`` records: the demo catalogue, then generated ones."""
        return [self.record(i) for i in range(n)]

    def rng(self, i: int, salt: str = "") -> random.Random:
        return random.Random(f"{self.seed}:{i}:{salt}")

    def kind_of(self, i: int) -> str:
        if i < len(self.demo):
            return self.demo[i].kind
        kind = self._kind_cache.get(i)
        if kind is None:
            x = self.rng(i, "kind").random()
            kind = (
                "product"
                if x < 0.56
                else "product_faq"
                if x < 0.94
                else "topic_faq"
                if x < 0.995
                else "promotion"
            )
            self._kind_cache[i] = kind
        return kind

    def record(self, i: int) -> Record:
        if i < len(self.demo):
            return self.demo[i]
        kind = self.kind_of(i)
        if kind == "product":
            return self.product(i)
        if kind == "product_faq":
            return self._product_faq(i)
        if kind == "topic_faq":
            return self._topic_faq(i)
        return self._promotion(i)

    def earlier_product(self, i: int, rng: random.Random) -> Product:
        """A generated product with a smaller index (a demo product early on)."""
        start = len(self.demo)
        for _ in range(20):
            if i <= start:
                break
            j = rng.randrange(start, i)
            if self.kind_of(j) == "product":
                return self.product(j)
        return _pick(rng, self.demo_products)

    # ------------------------------------------------------------------ products
    @lru_cache(maxsize=8192)  # noqa: B019 - the catalogue lives as long as the benchmark
    def product(self, i: int) -> Product:
        rng = self.rng(i, "product")
        cat = _weighted(rng, [(c, spec[1]) for c, spec in CATEGORIES.items()])
        code, _, base_price, sizes, types, steps = CATEGORIES[cat]
        line_zh, line_en, line_code, factor = _pick(rng, LINES)
        main = self._main_active(cat, rng)
        others = rng.sample([a for a in ACTIVES if a is not main], rng.choice((1, 1, 2)))
        actives = [main, *others]
        effect_concern = _pick(rng, main.concerns)
        effect_zh, effect_en = _pick(rng, EFFECTS[effect_concern])
        type_zh, type_en = _pick(rng, types)
        strength = _pick(rng, main.strengths) if main.strengths and rng.random() < 0.5 else ""
        edition_zh, edition_en = _weighted(rng, [((z, e), w) for z, e, w in EDITIONS])
        men = cat in ("cleanser", "toner", "moisturizer") and rng.random() < 0.08
        spf = ""
        if cat == "sunscreen":
            spf = _pick(rng, [" SPF50+ PA++++", " SPF50 PA+++", " SPF30 PA+++"])
        men_zh = "男士" if men else ""
        name_zh = f"{line_zh}{men_zh}{strength}{main.zh}{effect_zh}{type_zh}{spf}{edition_zh}"
        name_en = (
            f"{line_en} {'Men’s ' if men else ''}{main.en}{' ' + strength if strength else ''} "
            f"{effect_en} {type_en}{spf}{edition_en}"
        )
        concerns = list(dict.fromkeys(c for a in actives for c in a.concerns))[: rng.randint(1, 4)]
        if cat == "sunscreen" and "sun_protection" not in concerns:
            concerns.insert(0, "sun_protection")
        skin_pool = ["normal", "dry", "combination", "oily", "sensitive"]
        if any(c in ("oiliness", "acne", "pores", "blackheads") for c in concerns):
            skin_pool = ["oily", "combination", "normal", "sensitive"]
        elif any(c in ("dryness", "barrier") for c in concerns):
            skin_pool = ["dry", "normal", "sensitive", "combination"]
        skin_types = rng.sample(skin_pool, rng.randint(1, len(skin_pool)))
        contras: list[str] = []
        if any(a.pregnancy_unsafe for a in actives):
            contras += ["pregnancy", "breastfeeding"]
        irritating = [a for a in actives if a.irritating]
        if irritating or rng.random() < 0.1:
            contras.append("sensitive")
            skin_types = [s for s in skin_types if s != "sensitive"] or ["normal"]
        if cat in ("moisturizer", "remover") and rng.random() < 0.05:
            contras.append("acne_prone")
        times = sorted({t for a in actives for t in a.time}) if cat != "sunscreen" else ["am"]
        if "pm" in (main.time if len(main.time) == 1 else ()):
            times = ["pm"]
        caution_zh, caution_en = self._caution(contras, irritating, rng)
        size = _pick(rng, sizes)
        stock_roll = rng.random()
        stock = 0 if stock_roll < 0.08 else None if stock_roll < 0.2 else rng.randint(1, 999)
        ff = _weighted(rng, [(True, 55), (False, 25), (None, 20)])
        af = _weighted(rng, [(True, 60), (False, 20), (None, 20)])
        desc_zh, desc_en = self._description(cat, actives, skin_types, concerns, rng)
        usage_zh, usage_en = _pick(rng, self.usage_by_cat[cat])
        inci = _pick(rng, self.inci_by_cat[cat]).split(", ")
        for a in actives:
            if a.inci not in inci:
                inci.insert(min(len(inci), rng.randint(1, 4)), a.inci)
        key_actives = [
            {
                "zh": f"{strength} {a.zh}".strip() if a is main and strength else a.zh,
                "en": f"{strength} {a.en.lower()}".strip()
                if a is main and strength
                else a.en.lower(),
                "benefit_zh": a.benefit_zh,
                "benefit_en": a.benefit_en,
            }
            for a in actives
        ]
        data: dict[str, Any] = {
            "id": f"{line_code}-{code}-{i:06d}",
            "name_zh": name_zh,
            "name_en": " ".join(name_en.split()),
            "category": cat,
            "price": _price(base_price, factor * (1.3 if strength else 1.0), rng),
            "size": size,
            "ingredients": ", ".join(inci),
            "key_actives": key_actives,
            "skin_types": skin_types,
            "concerns": concerns,
            "contraindications": contras,
            "caution_zh": caution_zh,
            "caution_en": caution_en,
            "fragrance_free": ff,
            "alcohol_free": af,
            "routine_step": _pick(rng, steps),
            "time_of_day": times,
            "stock": stock,
            "description_zh": desc_zh,
            "description_en": desc_en,
            "usage_zh": usage_zh,
            "usage_en": usage_en,
        }
        lang_roll = rng.random()
        if lang_roll < 0.04:  # Chinese-first brands skip English, a few others skip Chinese
            for key in ("name_en", "description_en", "usage_en", "caution_en"):
                data[key] = ""
        elif lang_roll < 0.06:
            for key in ("name_zh", "description_zh", "usage_zh", "caution_zh"):
                data[key] = ""
        if rng.random() < 0.3:  # a brand's own column: an extra field, filterable metadata
            data["channel"] = _pick(rng, CHANNELS)
        return Product(**data)

    def _main_active(self, cat: str, rng: random.Random) -> Active:
        if cat == "sunscreen":
            return _pick(
                rng,
                [
                    a
                    for a in ACTIVES
                    if a.zh in ("氧化锌", "烟酰胺", "积雪草", "玻尿酸", "维C", "绿茶")
                ],
            )
        if cat == "eye":
            return _pick(
                rng,
                [
                    a
                    for a in ACTIVES
                    if "aging" in a.concerns or "dark_circles" in a.concerns or a.zh == "神经酰胺"
                ],
            )
        if cat in ("cleanser", "remover"):
            return _pick(rng, [a for a in ACTIVES if not a.pregnancy_unsafe])
        return _pick(rng, ACTIVES)

    @staticmethod
    def _caution(
        contras: list[str], irritating: list[Active], rng: random.Random
    ) -> tuple[str, str]:
        zh: list[str] = []
        en: list[str] = []
        if "pregnancy" in contras:
            zh.append("含维A类成分，孕期和哺乳期请勿使用。")
            en.append(
                "Contains a vitamin A derivative; do not use while pregnant or breastfeeding."
            )
        if irritating:
            names_zh = "、".join(a.zh for a in irritating)
            names_en = " and ".join(a.en.lower() for a in irritating)
            zh.append(f"含{names_zh}，初用可能刺痛或泛红，敏感肌慎用，建议先做耳后测试。")
            en.append(
                f"Contains {names_en}, which can sting or redden skin at first; sensitive "
                "skin should patch-test first."
            )
        elif "sensitive" in contras:
            zh.append("含香料成分，敏感肌慎用。")
            en.append("Contains fragrance; sensitive skin should use it with caution.")
        if "acne_prone" in contras:
            zh.append("质地滋润，易长闭口的肌肤慎用。")
            en.append("A rich texture; skin prone to clogged pores should use it with caution.")
        if any(a.time == ("pm",) for a in irritating) and rng.random() < 0.7:
            zh.append("使用期间白天请做好防晒。")
            en.append("Wear sunscreen every day while using it.")
        return "".join(zh), " ".join(en)

    @staticmethod
    def _description(
        cat: str, actives: list[Active], skins: list[str], concerns: list[str], rng: random.Random
    ) -> tuple[str, str]:
        texture_zh, texture_en = _pick(rng, TEXTURES[cat])
        feel_zh, feel_en = _pick(rng, FEELS)
        names_zh = "和".join(a.zh for a in actives[:2])
        names_en = " and ".join(a.en.lower() for a in actives[:2])
        zh = [f"{texture_zh}质地，{feel_zh}。含{names_zh}，{actives[0].benefit_zh}。"]
        en = [
            f"{texture_en.capitalize()} texture that {feel_en}. With {names_en}, it "
            f"{actives[0].benefit_en}."
        ]
        if rng.random() < 0.8:
            skin_zh = "、".join(SKIN_ZH[s] for s in skins)
            skin_en = ", ".join(SKIN_EN[s] for s in skins)
            scen_zh, scen_en = _pick(rng, SCENARIOS)
            worry_zh = "、".join(CONCERN_ZH[c] for c in concerns[:2])
            worry_en = " and ".join(CONCERN_EN[c] for c in concerns[:2])
            zh.append(f"适合{skin_zh}，针对{worry_zh}，也适合{scen_zh}。")
            en.append(f"Made for {skin_en} dealing with {worry_en}; also good for {scen_en}.")
        for _ in range(rng.choice((0, 1, 1, 2))):
            claim_zh, claim_en = _pick(rng, CLAIMS)
            extra = _pick(rng, actives)
            award_zh, award_en = _pick(rng, AWARDS)
            n, m, year = rng.randint(30, 300), rng.randint(80, 98), rng.randint(2019, 2025)
            zh.append(
                claim_zh.format(
                    n=n if "{m}" in claim_zh else rng.randint(12, 85),
                    m=m,
                    active=extra.zh,
                    benefit=extra.benefit_zh,
                    year=year,
                    award=award_zh,
                )
            )
            en.append(
                claim_en.format(
                    n=n if "{m}" in claim_en else rng.randint(12, 85),
                    m=m,
                    active=extra.en.lower(),
                    benefit=extra.benefit_en,
                    year=year,
                    award_en=award_en,
                )
            )
        return "".join(zh), " ".join(en)

    # ------------------------------------------------------------------ FAQs
    def _product_faq(self, i: int) -> Faq:
        rng = self.rng(i, "pfaq")
        p = self.earlier_product(i, rng)
        name_zh = p.name_zh or p.name_en
        name_en = p.name_en or p.name_zh
        topic = rng.randrange(8)
        if topic == 0:
            unsafe = "pregnancy" in p.contraindications
            q_zh, q_en = f"{name_zh}孕妇能用吗?", f"Can I use the {name_en} while pregnant?"
            if unsafe:
                a_zh = (
                    f"{name_zh}含维A类成分，孕期和哺乳期不建议使用。可以改用不含视黄醇的保湿、"
                    "修护类产品，防晒选纯物理配方。"
                )
                a_en = (
                    f"The {name_en} contains a vitamin A derivative, so we do not recommend it "
                    "while pregnant or breastfeeding. Choose a retinol-free moisturiser and a "
                    "mineral sunscreen instead."
                )
            else:
                a_zh = (
                    f"{name_zh}不含视黄醇、高浓度水杨酸等孕期需要避开的成分，孕期可以正常使用；"
                    "如果有特殊情况，请先咨询医生。"
                )
                a_en = (
                    f"The {name_en} has none of the ingredients to avoid in pregnancy, such as "
                    "retinoids or high-strength salicylic acid, so it is fine to use; ask your "
                    "doctor if you have specific concerns."
                )
            category = "pregnancy"
        elif topic == 1:
            q_zh, q_en = (
                f"{name_zh}早上用还是晚上用?",
                f"Should I use the {name_en} morning or night?",
            )
            when_zh = {"am": "早上", "pm": "晚上"}
            when_en = {"am": "in the morning", "pm": "at night"}
            a_zh = (
                "建议"
                + "和".join(when_zh[t] for t in p.time_of_day)
                + "使用。"
                + ("白天使用后记得涂防晒。" if "am" in p.time_of_day else "白天请做好防晒。")
            )
            a_en = (
                "Use it "
                + " and ".join(when_en[t] for t in p.time_of_day)
                + ". "
                + ("Follow with sunscreen in the daytime.")
            )
            category = "usage"
        elif topic == 2:
            skin = _pick(rng, list(SKIN_ZH))
            q_zh, q_en = (
                f"{SKIN_ZH[skin]}能用{name_zh}吗?",
                f"Is the {name_en} OK for {SKIN_EN[skin]}?",
            )
            if skin in p.skin_types:
                a_zh = f"可以。{name_zh}适合{'、'.join(SKIN_ZH[s] for s in p.skin_types)}。"
                a_en = f"Yes. The {name_en} suits {', '.join(SKIN_EN[s] for s in p.skin_types)}."
            else:
                a_zh = (
                    f"{name_zh}主要为{'、'.join(SKIN_ZH[s] for s in p.skin_types)}设计，"
                    f"{SKIN_ZH[skin]}可以先小面积试用，或者选择同系列更温和的款式。"
                )
                a_en = (
                    f"The {name_en} is made for {', '.join(SKIN_EN[s] for s in p.skin_types)}; "
                    f"with {SKIN_EN[skin]}, try it on a small area first or pick a gentler "
                    "product from the same line."
                )
            category = "skin"
        elif topic == 3:
            q_zh, q_en = f"{name_zh}怎么用?", f"How do I use the {name_en}?"
            a_zh, a_en = p.usage_zh or p.usage_en, p.usage_en or p.usage_zh
            category = "usage"
        elif topic == 4:
            months = rng.choice((3, 6, 12))
            q_zh, q_en = (
                f"{name_zh}开封后能放多久?",
                f"How long does the {name_en} keep after opening?",
            )
            a_zh = f"{name_zh}开封后建议{months}个月内用完，放在阴凉避光处，用后拧紧瓶盖。"
            a_en = (
                f"Finish the {name_en} within {months} months of opening; keep it somewhere "
                "cool and dark and close it tightly after use."
            )
            category = "usage"
        elif topic == 5:
            other = _pick(rng, ACTIVES)
            q_zh = f"{name_zh}可以和{other.zh}一起用吗?"
            q_en = f"Can I use the {name_en} with {other.en.lower()}?"
            if other.irritating and any(a.irritating for a in ACTIVES if a.zh in p.name_zh):
                a_zh = "不建议同一时段叠加。可以早晚分开使用，或者隔天交替，减少刺激。"
                a_en = (
                    "Not at the same time. Use them at different times of day or on "
                    "alternate days to limit irritation."
                )
            else:
                a_zh = (
                    f"可以一起用。先用质地较薄的，等吸收后再用下一步；"
                    f"{other.zh}{other.benefit_zh}。"
                )
                a_en = (
                    f"Yes. Apply the thinner texture first and let it absorb before the next "
                    f"step; {other.en.lower()} {other.benefit_en}."
                )
            category = "ingredients"
        elif topic == 6:
            weeks = rng.randint(4, 16)
            q_zh = f"一瓶{p.size}的{name_zh}能用多久?"
            q_en = f"How long does one {p.size} {name_en} last?"
            a_zh = f"按说明用量早晚使用，{p.size}大约可以用{weeks}周。"
            a_en = f"Used as directed morning and night, {p.size} lasts about {weeks} weeks."
            category = "usage"
        else:
            q_zh, q_en = f"{name_zh}有香精吗?", f"Does the {name_en} contain fragrance?"
            if p.fragrance_free:
                a_zh, a_en = f"{name_zh}不含香精。", f"No, the {name_en} is fragrance-free."
            elif p.fragrance_free is False:
                a_zh = f"{name_zh}含少量香精，敏感肌建议先做耳后测试。"
                a_en = (
                    f"The {name_en} contains a little fragrance; sensitive skin should patch-test."
                )
            else:
                a_zh = f"{name_zh}的完整成分请以包装为准，如有香料过敏史可以联系客服确认。"
                a_en = (
                    f"Check the pack for the {name_en}'s full ingredient list, or ask us if "
                    "you are allergic to fragrance."
                )
            category = "ingredients"
        if not p.name_zh:
            q_zh = a_zh = ""
        if not p.name_en:
            q_en = a_en = ""
        return Faq(
            id=f"FAQ-P-{i:06d}",
            category=category,
            question_zh=q_zh,
            question_en=q_en,
            answer_zh=a_zh,
            answer_en=a_en,
        )

    def _topic_faq(self, i: int) -> Faq:
        rng = self.rng(i, "tfaq")
        topic = rng.randrange(7)
        if topic == 0:
            city, city_en, days = _pick(rng, CITIES)
            courier, courier_en = _pick(rng, COURIERS)
            fee = rng.choice((6, 8, 10, 12))
            q_zh = _pick(
                rng, [f"发货到{city}一般几天能到?", f"寄{city}要几天?", f"{city}几天能收到?"]
            )
            q_en = _pick(
                rng,
                [
                    f"How many days does delivery to {city_en} take?",
                    f"How long does shipping to {city_en} take?",
                ],
            )
            a_zh = (
                f"{city}一般发货后{days}天左右送达，偏远区县可能多1-2天。默认使用{courier}，"
                f"需要顺丰可以补{fee}元运费差价。"
            )
            a_en = (
                f"Parcels to {city_en} usually arrive about {days} days after dispatch, 1-2 "
                f"days more for remote districts. We ship with {courier_en} by default; SF "
                f"Express costs ¥{fee} extra."
            )
            category = "shipping"
        elif topic == 1:
            country, country_en, days, fee = _pick(rng, COUNTRIES)
            q_zh, q_en = f"能寄到{country}吗?", f"Do you ship to {country_en}?"
            a_zh = (
                f"可以，通过跨境物流寄往{country}，约{days}-{days + 5}个工作日送达，运费{fee}元起，"
                "可能产生的进口关税由收件人承担。"
            )
            a_en = (
                f"Yes, by cross-border courier to {country_en} in about {days}-{days + 5} "
                f"working days, from ¥{fee}; any import duty is paid by the recipient."
            )
            category = "shipping"
        elif topic == 2:
            h, h_en, cutoff, cutoff_en = _pick(rng, HOLIDAYS)
            q_zh, q_en = f"{h}期间还正常发货吗?", f"Do you still ship during {h_en}?"
            a_zh = f"{h}期间{cutoff}16点前付款的订单当天发出，之后的订单节后第一个工作日依次发货。"
            a_en = (
                f"Orders paid before 4 pm on {cutoff_en} ship that day; later orders ship in "
                "order from the first working day after the holiday."
            )
            category = "shipping"
        elif topic == 3:
            case_zh, case_en, a_zh, a_en = _pick(rng, RETURN_CASES)
            cat = _pick(rng, list(CAT_ZH))
            q_zh = _pick(
                rng, [f"{CAT_ZH[cat]}{case_zh}还能退吗?", f"{case_zh}的{CAT_ZH[cat]}可以退货吗?"]
            )
            q_en = f"Can I return a {CAT_EN[cat]} {case_en}?"
            category = "returns"
        elif topic == 4:
            ch, ch_en, days = _pick(rng, PAY_CHANNELS)
            q_zh, q_en = f"用{ch}付款的退款多久到账?", f"How long does a refund to {ch_en} take?"
            if days == "即时":
                a_zh, a_en = (
                    "礼品卡支付的金额退回后即时到账。",
                    "Gift card refunds arrive instantly.",
                )
            else:
                a_zh = f"退款审核通过后，{ch}一般{days}个工作日原路退回。"
                a_en = f"Once approved, refunds to {ch_en} arrive within {days} working days."
            category = "returns"
        elif topic == 5:
            tier, tier_en, spend, discount, mult = _pick(rng, TIERS)
            q_zh = _pick(rng, [f"{tier}会员有什么权益?", f"怎么升级到{tier}?"])
            q_en = _pick(rng, [f"What do {tier_en} members get?", f"How do I reach {tier_en}?"])
            a_zh = (
                f"一年内累计消费满{spend}元即为{tier}会员，享{discount / 10:g}折会员价、"
                f"{mult:g}倍积分和生日礼。"
            )
            a_en = (
                f"Spend ¥{spend} within a year to reach {tier_en}: {100 - discount}% off member "
                f"prices, {mult:g}x points and a birthday gift."
            )
            category = "membership"
        else:
            city, city_en, _ = _pick(rng, CITIES)
            mall = _pick(rng, MALLS)
            q_zh, q_en = f"{city}有线下专柜吗?", f"Is there a store counter in {city_en}?"
            a_zh = f"{city}{mall}一楼有澜屿专柜，营业时间10:00-22:00，可以现场试用和领取小样。"
            a_en = (
                f"Yes, on the ground floor of {mall} in {city_en}, open 10:00-22:00, with "
                "testers and free samples."
            )
            category = "stores"
        return Faq(
            id=f"FAQ-T-{i:06d}",
            category=category,
            question_zh=q_zh,
            question_en=q_en,
            answer_zh=a_zh,
            answer_en=a_en,
        )

    def _promotion(self, i: int) -> Promotion:
        rng = self.rng(i, "promo")
        line_zh, line_en, _, _ = _pick(rng, LINES)
        cat = _pick(rng, list(CAT_ZH))
        start = date(2025, 1, 1) + timedelta(days=rng.randrange(900))
        end = start + timedelta(days=rng.randint(3, 30))
        spend = rng.choice((199, 299, 399, 499))
        off = rng.choice((20, 30, 50, 80))
        products = [self.earlier_product(i, rng).id for _ in range(rng.randint(0, 3))]
        code = f"{line_en.split()[0].upper()}{rng.randint(10, 99)}" if rng.random() < 0.4 else ""
        return Promotion(
            id=f"PROMO-G-{i:06d}",
            title_zh=f"{line_zh}{CAT_ZH[cat]}专场 满¥{spend}减¥{off}",
            title_en=f"{line_en} {CAT_EN[cat]} week: ¥{off} off ¥{spend}",
            body_zh=f"活动期间{line_zh}全系列{CAT_ZH[cat]}实付满¥{spend}减¥{off}，可与会员折扣同享。",
            body_en=(
                f"During the event, {line_en} {CAT_EN[cat]}s are ¥{off} off orders of "
                f"¥{spend}, combinable with member discounts."
            ),
            starts=start,
            ends=end,
            product_ids=list(dict.fromkeys(products)),
            code=code,
        )

    # ------------------------------------------------------------------ queries
    def queries(self, n: int, size: int, salt: str) -> list[tuple[str, dict[str, Any] | None]]:
        """``n`` distinct shopper queries (half zh, half en) with a matching filter each."""
        rng = random.Random(f"{self.seed}:queries:{size}:{salt}")
        seen: set[str] = set()
        out: list[tuple[str, dict[str, Any] | None]] = []
        attempts = 0
        while len(out) < n and attempts < n * 50:
            attempts += 1
            text, filters = self._query(rng, size, zh=len(out) % 2 == 0)
            if text not in seen:
                seen.add(text)
                out.append((text, filters))
        return out

    def _query(self, rng: random.Random, size: int, zh: bool) -> tuple[str, dict[str, Any]]:
        skin = _pick(rng, list(SKIN_ZH))
        cat = _pick(rng, list(CAT_ZH))
        concern = _pick(rng, [c for c in CONCERN_ZH if c != "sun_protection"])
        active = _pick(rng, ACTIVES)
        price = rng.choice((100, 150, 200, 300, 500))
        product = self._some_product(rng, size)
        form = rng.randrange(10)
        filters: dict[str, Any]
        if form == 0:
            text = (
                f"{SKIN_ZH[skin]}用什么{CAT_ZH[cat]}"
                if zh
                else f"which {CAT_EN[cat]} for {SKIN_EN[skin]}"
            )
            filters = {"category": cat, "skin_type": skin}
        elif form == 1:
            text = (
                f"有没有适合{SKIN_ZH[skin]}的{CAT_ZH[cat]}，{price}以内"
                if zh
                else f"any {CAT_EN[cat]} for {SKIN_EN[skin]} under {price} yuan"
            )
            filters = {"category": cat, "price_max": price, "in_stock": True}
        elif form == 2:
            text = (
                f"{CONCERN_ZH[concern]}用什么{CAT_ZH[cat]}好"
                if zh
                else f"best {CAT_EN[cat]} for {CONCERN_EN[concern]}"
            )
            filters = {"category": cat, "in_stock": True}
        elif form == 3:
            text = (
                f"{active.zh}{CAT_ZH[cat]}推荐一下"
                if zh
                else f"recommend a {active.en.lower()} {CAT_EN[cat]}"
            )
            filters = {"price_min": price // 2, "price_max": price * 2}
        elif form == 4:
            name = product.name_zh or product.name_en if zh else product.name_en or product.name_zh
            text = f"{name}多少钱" if zh else f"how much is the {name}"
            filters = {"in_stock": True}
        elif form == 5:
            name = product.name_zh or product.name_en if zh else product.name_en or product.name_zh
            text = f"{name}孕妇能用吗" if zh else f"is {name} safe during pregnancy"
            filters = {"exclude_contraindications": ["pregnancy"], "skin_type": skin}
        elif form == 6:
            city, city_en, _ = _pick(rng, CITIES)
            text = f"寄到{city}要几天" if zh else f"how long does delivery to {city_en} take"
            filters = {"category": "shipping"}
        elif form == 7:
            case_zh, case_en, _, _ = _pick(rng, RETURN_CASES)
            text = (
                f"{CAT_ZH[cat]}{case_zh}能退吗" if zh else f"can I return a {CAT_EN[cat]} {case_en}"
            )
            filters = {"category": "returns"}
        elif form == 8:
            other = _pick(rng, ACTIVES)
            text = (
                f"{active.zh}和{other.zh}能一起用吗"
                if zh
                else f"can I use {active.en.lower()} with {other.en.lower()}"
            )
            filters = {"skin_type": skin, "in_stock": True}
        else:
            scen_zh, scen_en = _pick(rng, SCENARIOS)
            text = (
                f"最近{scen_zh}，脸上{CONCERN_ZH[concern]}，有什么推荐"
                if zh
                else f"my skin has {CONCERN_EN[concern]} lately, what do you suggest for {scen_en}"
            )
            filters = {"price_max": price, "in_stock": True, "skin_type": skin}
        return text, filters

    def _some_product(self, rng: random.Random, size: int) -> Product:
        for _ in range(50):
            j = rng.randrange(size)
            if self.kind_of(j) == "product":
                record = self.record(j)
                assert isinstance(record, Product)
                return record
        return _pick(rng, self.demo_products)


# ============================================================================ measuring helpers


def memory_mb() -> dict[str, float]:
    """This process's resident memory now and at its peak, from /proc (Linux)."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out["rss" if key == "VmRSS" else "peak"] = int(value.split()[0]) / 1024
    return out


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def percentiles(ms: list[float]) -> dict[str, float]:
    """p50/p95/p99 (nearest rank) and mean of millisecond timings."""
    ordered = sorted(ms)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(len(ordered) * p) - 1)]

    return {
        "n": len(ordered),
        "p50": round(rank(0.50), 2),
        "p95": round(rank(0.95), 2),
        "p99": round(rank(0.99), 2),
        "mean": round(statistics.fmean(ordered), 2),
    }


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


class VectorCache:
    """Passage vectors the model already computed, by hash of the passage text.

    Append-only chunk files (``NNNNNN.npy`` + ``NNNNNN.keys``) under a folder per model, written
    as the model goes, so an interrupted 100k build loses at most one chunk of work.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._rows: dict[str, np.ndarray] = {}
        self._chunks = 0
        for keys_file in sorted(folder.glob("*.keys")):
            vectors = np.load(keys_file.with_suffix(".npy"))
            keys = keys_file.read_text().split()
            if len(keys) != len(vectors):
                continue  # a chunk cut short by a crash; its passages are embedded again
            self._rows.update(zip(keys, vectors, strict=True))
            self._chunks = max(self._chunks, int(keys_file.stem) + 1)
        stats_file = folder / "model.json"
        self.stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}

    def __len__(self) -> int:
        return len(self._rows)

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    def get(self, key: str) -> np.ndarray | None:
        return self._rows.get(key)

    def add(self, keys: list[str], vectors: np.ndarray, seconds: float) -> None:
        name = f"{self._chunks:06d}"
        self._chunks += 1
        np.save(self.folder / f"{name}.npy", vectors)
        tmp = self.folder / f"{name}.keys.tmp"
        tmp.write_text("\n".join(keys))
        tmp.rename(self.folder / f"{name}.keys")  # the chunk counts only once complete
        self._rows.update(zip(keys, vectors, strict=True))
        self.stats["passages"] = self.stats.get("passages", 0) + len(keys)
        self.stats["seconds"] = self.stats.get("seconds", 0.0) + seconds
        (self.folder / "model.json").write_text(json.dumps(self.stats))


class BenchEmbedder:
    """The real embedder, with two benchmark twists.

    Queries always go through the model (a shopper's new question pays its embedding, so a
    cache hit must not flatter the figures). Passages may come from a :class:`VectorCache`;
    the time spent in the model is counted either way.
    """

    def __init__(
        self,
        inner: Any,
        cache: VectorCache | None = None,
        chunk: int = 512,
        proxy: ProxyVectors | None = None,
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.chunk = chunk
        self.proxy = proxy
        self.model_seconds = 0.0
        self.model_passages = 0
        self.cached_passages = 0
        self.proxy_passages = 0

    @property
    def model_name(self) -> str:
        return str(self.inner.model_name)

    @property
    def dimension(self) -> int:
        return int(self.inner.dimension)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_queries([text])[0]

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        todo: list[int] = []
        keys = [VectorCache.key(t) for t in texts]
        for i, key in enumerate(keys):
            vector = self.cache.get(key) if self.cache is not None else None
            if vector is None and self.proxy is not None:
                vector = self.proxy(texts[i])
                self.proxy_passages += vector is not None
            if vector is None:
                todo.append(i)
            else:
                out[i] = vector
        self.cached_passages += len(texts) - len(todo)
        started = time.perf_counter()
        for start in range(0, len(todo), self.chunk):
            part = todo[start : start + self.chunk]
            t0 = time.perf_counter()
            vectors = self.inner.embed_passages([texts[i] for i in part])
            seconds = time.perf_counter() - t0
            out[part] = vectors
            self.model_seconds += seconds
            self.model_passages += len(part)
            if self.cache is not None:
                self.cache.add([keys[i] for i in part], np.asarray(vectors), seconds)
            if len(todo) > self.chunk:
                done = start + len(part)
                rate = done / (time.perf_counter() - started)
                log(
                    f"embedded {done}/{len(todo)} passages, {rate:.1f}/s, "
                    f"{(len(todo) - done) / rate / 60:.0f} min to go, load {load()}"
                )
        return out


class ProxyVectors:
    """Stand-ins for passages the model has not embedded yet (``--proxy-vectors``).

    The real vector of another passage of the same language, kind and category, plus noise
    (cosine about 0.93 to it): vectors clustered like real ones, for timing and memory while
    the model works through a 100k catalogue (hours on 2 cores). Never cached; figures from a
    store built with proxies say so.
    """

    def __init__(self, cache: VectorCache, records: Sequence[Record]) -> None:
        self.group_of: dict[str, tuple[str, str, str]] = {}
        self.groups: dict[tuple[str, str, str], list[np.ndarray]] = {}
        for record in records:
            doc = build_document(record)
            category = str(doc.metadata.get("category", ""))
            for passage in doc.passages:
                group = (passage.lang, record.kind, category)
                self.group_of[passage.text] = group
                vector = cache.get(VectorCache.key(passage.text))
                if vector is not None:
                    self.groups.setdefault(group, []).append(vector)

    def __call__(self, text: str) -> np.ndarray | None:
        pool = self.groups.get(self.group_of.get(text, ("", "", "")))
        if not pool:
            return None
        seed = int(VectorCache.key(text)[:12], 16)
        base = pool[seed % len(pool)]
        noise = np.random.default_rng(seed).normal(size=len(base)) * (0.38 / math.sqrt(len(base)))
        vector = base + noise
        return (vector / np.linalg.norm(vector)).astype(np.float32)


def model_tag(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in name)


# ============================================================================ building


@dataclass
class Setup:
    """Everything a worker needs: catalogue, model, folders."""

    catalogue: Catalogue
    cache_dir: Path
    embedder: Any
    proxy: bool = False
    model: str = field(init=False)

    def __post_init__(self) -> None:
        self.model = model_tag(self.embedder.model_name)

    def store_dir(self, size: int) -> Path:
        name = f"{size}-{self.catalogue.key}-{self.model}-doc{DOCUMENT_VERSION}"
        return self.cache_dir / "stores" / (name + ("-proxy" if self.proxy else ""))


def ensure_store(setup: Setup, size: int, rebuild: bool) -> dict[str, Any]:
    """Build the cached store of ``size`` records unless it exists; return the build figures."""
    from assistant.knowledge.base import open_knowledge_base

    folder = setup.store_dir(size)
    meta_file = folder / "build.json"
    if meta_file.exists() and not rebuild:
        return json.loads(meta_file.read_text())
    records = setup.catalogue.records(size)
    passages = sum(len(build_document(r).passages) for r in records)
    staging = folder.with_name(folder.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    cache = VectorCache(setup.cache_dir / "vectors" / setup.model)
    proxy = ProxyVectors(cache, records) if setup.proxy else None
    embedder = BenchEmbedder(setup.embedder, cache, proxy=proxy)
    log(f"building {size} records ({passages} passages, {len(cache)} vectors cached)")
    load_before = load()
    started = time.perf_counter()
    kb = open_knowledge_base(staging / "chroma", KB_NAME, embedder)
    report = kb.sync(records)
    seconds = time.perf_counter() - started
    meta = {
        "records": size,
        "passages": passages,
        "seconds": round(seconds, 1),
        "model_seconds": round(embedder.model_seconds, 1),
        "model_passages": embedder.model_passages,
        "cached_passages": embedder.cached_passages,
        "proxy_passages": embedder.proxy_passages,
        "model_rate_overall": _model_rate(cache),
        "date": f"{datetime.now():%Y-%m-%d %H:%M}",
        "load_before": load_before,
        "load_after": load(),
        "torch_threads": _torch_threads(),
        "summary": report.summary(),
    }
    del kb
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    meta_file.write_text(json.dumps(meta, indent=2))
    log(f"built {size} records in {seconds:.0f}s")
    return meta


def _model_rate(cache: VectorCache) -> float | None:
    seconds = cache.stats.get("seconds", 0.0)
    return round(cache.stats["passages"] / seconds, 2) if seconds else None


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def build_figures(meta: dict[str, Any]) -> dict[str, Any]:
    """Build throughput; estimated for a cold model when some vectors came from the cache."""
    seconds = meta["seconds"]
    rate = meta["model_rate_overall"]
    if meta["model_passages"]:
        rate = meta["model_passages"] / max(meta["model_seconds"], 1e-9)
    other = seconds - meta["model_seconds"]
    estimated = meta["cached_passages"] > 0 and bool(rate)
    full = other + meta["passages"] / rate if estimated else seconds
    return {
        "seconds": round(full, 1),
        "estimated": estimated,
        "records_per_s": round(meta["records"] / full, 2),
        "passages_per_s": round(meta["passages"] / full, 2),
        "model_passages_per_s": round(rate, 2) if rate else None,
        "indexing_seconds": round(other, 1),
        "measured_wall_seconds": seconds,
        "proxy_passages": meta.get("proxy_passages", 0),
        "date": meta["date"],
        "load": [meta["load_before"], meta["load_after"]],
    }


# ============================================================================ measuring


def _search_modes() -> dict[str, Any]:
    from assistant.knowledge.fusion import FusionConfig

    return {
        "hybrid": None,  # the knowledge base's own fusion settings
        "dense": FusionConfig.dense_only(),
        "bm25": FusionConfig(dense_weight=0.0, sparse_weight=1.0),
    }


def time_searches(
    kb: Any, queries: list[tuple[str, dict[str, Any] | None]], k: int
) -> dict[str, Any]:
    """Latency per mode, with and without each query's filters (every query embedded anew)."""
    out: dict[str, Any] = {}
    for mode, fusion in _search_modes().items():
        for filtered in (False, True):
            timings: list[float] = []
            empty = 0
            for text, filters in queries:
                started = time.perf_counter()
                hits = kb.search(text, k=k, filters=filters if filtered else None, fusion=fusion)
                timings.append((time.perf_counter() - started) * 1000)
                empty += not hits
            name = f"{mode}{'+filters' if filtered else ''}"
            out[name] = {**percentiles(timings), "empty": empty}
            log(f"  search {name}: {out[name]}")
    return out


def dense_recall(kb: Any, queries: list[tuple[str, dict[str, Any] | None]], n: int = 40) -> dict:
    """Recall@n of the dense index's reduced scan + rerank against exact search, per language,
    without and with each query's filters (only languages large enough to use it)."""
    from assistant.knowledge.filters import build_where

    index = getattr(kb, "_dense", None)
    languages = getattr(index, "_languages", {})
    out: dict[str, Any] = {}
    vectors = {text: np.asarray(kb.embedder.embed_query(text), np.float32) for text, _ in queries}
    for lang, store in languages.items():
        if store.reduced is None:
            continue
        for filtered in (False, True):
            recalls = []
            for text, filters in queries:
                mask = None
                if filtered:
                    mask = kb._columns.mask(build_where(filters, None, kb._metadata_keys))
                query = vectors[text]
                got = {row for row, _ in index.search(query, lang, n, mask)}
                slots = store.slots[: store.size]
                ok = slots >= 0
                if mask is not None:
                    ok &= np.append(mask, False)[np.minimum(slots, len(mask))]
                scores = store.vectors[: store.size] @ query
                scores[~ok] = -np.inf
                exact = {store.ids[i] for i in np.argsort(-scores)[: min(n, int(ok.sum()))]}
                if exact:
                    recalls.append(len(got & exact) / len(exact))
            out[f"{lang}{'+filters' if filtered else ''}"] = {
                "recall": round(statistics.fmean(recalls), 4),
                "p10": round(float(np.percentile(recalls, 10)), 3),
                "passages": store.count,
            }
    return out


# Words no generated record contains: a renamed product is findable only once it is indexed.
NEW_WORDS = [
    ("夜光藻", "Noctiluca"),
    ("雪绒苔", "Edelweiss"),
    ("琉璃苣", "Borage"),
    ("海月水母", "Moonjelly"),
    ("星砂", "Stardust"),
    ("云母", "Mica"),
]


def _renamed(product: Product, tag: int) -> tuple[Product, str]:
    """A product under a new name nobody has searched for: (record, query that names it)."""
    word_zh, word_en = NEW_WORDS[tag % len(NEW_WORDS)]
    name_zh = f"{product.name_zh or product.name_en}·{word_zh}限定"
    name_en = f"{product.name_en or product.name_zh} {word_en} Edition"
    updated = product.model_copy(update={"name_zh": name_zh, "name_en": name_en})
    return updated, (name_zh if tag % 2 == 0 else name_en)


def time_changes(kb: Any, catalogue: Catalogue, records: list[Record], size: int) -> dict:
    """Single-record edits until searchable, then 1% metadata-only and 1% text syncs."""
    current = {r.id: r for r in records}
    rng = random.Random(f"{catalogue.seed}:changes:{size}")
    generated = [r for r in records[len(catalogue.demo) :] if isinstance(r, Product)]
    out: dict[str, Any] = {}

    # One changed product: upsert start -> a search finds it by its new name.
    trials = []
    for tag in range(6):
        product, query = _renamed(rng.choice(generated), tag)
        started = time.perf_counter()
        kb.upsert([product])
        upserted = time.perf_counter() - started
        searches = 0
        while True:
            searches += 1
            if any(h.id == product.id for h in kb.search(query, k=5)):
                break
            if time.perf_counter() - started > 60:
                raise RuntimeError(f"{product.id} not searchable after 60 s")
        total = time.perf_counter() - started
        trials.append(
            {"upsert_s": round(upserted, 3), "searchable_s": round(total, 3), "searches": searches}
        )
        current[product.id] = product
    trials = trials[1:]  # the first write pays one-off costs (Chroma's first write)
    out["single_text_change"] = {
        "searchable_s_median": statistics.median(t["searchable_s"] for t in trials),
        "searchable_s_max": max(t["searchable_s"] for t in trials),
        "upsert_s_median": statistics.median(t["upsert_s"] for t in trials),
        "trials": trials,
    }
    log(f"  single text change: {out['single_text_change']}")

    # One stock change (metadata only: price is in the embedded text, stock is not), visible
    # to an in-stock filter.
    trials = []
    for _ in range(5):
        product = current[rng.choice(generated).id]
        assert isinstance(product, Product)
        stock = 0 if product.in_stock else 50
        updated = product.model_copy(update={"stock": stock})
        query = product.name_zh or product.name_en
        started = time.perf_counter()
        report = kb.upsert([updated])
        upserted = time.perf_counter() - started
        hits = kb.search(query, k=5, filters={"in_stock": stock > 0})
        total = time.perf_counter() - started
        found = any(h.id == product.id for h in hits)
        trials.append(
            {
                "upsert_s": round(upserted, 3),
                "visible_s": round(total, 3),
                "found": found,
                "embedded": report.embedded,
            }
        )
        current[product.id] = updated
    out["single_stock_change"] = {
        "visible_s_median": statistics.median(t["visible_s"] for t in trials),
        "upsert_s_median": statistics.median(t["upsert_s"] for t in trials),
        "trials": trials,
    }
    log(f"  single stock change: {out['single_stock_change']}")

    # A full sync with 1% of the records' stock changed: metadata only, nothing embedded.
    changed = rng.sample(generated, max(1, len(records) // 100))
    for product in changed:
        product = current[product.id]
        assert isinstance(product, Product)
        stock = 0 if product.stock else rng.randint(1, 500)
        current[product.id] = product.model_copy(update={"stock": stock})
    started = time.perf_counter()
    report = kb.sync(list(current.values()))
    seconds = time.perf_counter() - started
    out["sync_1pct_metadata"] = {
        "records": len(current),
        "changed": len(report.updated),
        "embedded": report.embedded,
        "seconds": round(seconds, 2),
        "records_per_s": round(len(current) / seconds, 1),
    }
    log(f"  sync, 1% metadata: {out['sync_1pct_metadata']}")

    # A full sync with 1% of the records' text changed: those are embedded again.
    changed = rng.sample(list(current.values())[len(catalogue.demo) :], max(1, size // 100))
    for record in changed:
        if isinstance(record, Product):
            field_name = "description_zh" if record.description_zh else "description_en"
        else:
            assert isinstance(record, Faq | Promotion)
            field_name = (
                "answer_zh"
                if isinstance(record, Faq) and record.answer_zh
                else ("answer_en" if isinstance(record, Faq) else "body_zh")
            )
        text = getattr(record, field_name) + _pick(
            rng, ["（配方升级）", " (new formula)", "（包装焕新）", " (new packaging)"]
        )
        current[record.id] = record.model_copy(update={field_name: text})
    model_before = kb.embedder.model_seconds
    started = time.perf_counter()
    report = kb.sync(list(current.values()))
    seconds = time.perf_counter() - started
    out["sync_1pct_text"] = {
        "records": len(current),
        "changed": len(report.updated),
        "embedded": report.embedded,
        "seconds": round(seconds, 2),
        "changed_records_per_s": round(len(report.updated) / seconds, 2),
        "model_seconds": round(kb.embedder.model_seconds - model_before, 2),
    }
    log(f"  sync, 1% text: {out['sync_1pct_text']}")

    victim = rng.choice(generated).id
    started = time.perf_counter()
    kb.delete([victim])
    out["delete_one_s"] = round(time.perf_counter() - started, 3)
    return out


def measure(size: int, args: argparse.Namespace) -> dict[str, Any]:
    """Everything for one size, in this (fresh) process."""
    from assistant.knowledge.base import open_knowledge_base
    from assistant.knowledge.embedding import Embedder, ensure_default_model

    result: dict[str, Any] = {"size": size, "load_start": load(), "memory_start": memory_mb()}
    model = Embedder(ensure_default_model(), quantized_queries=args.int8_queries)
    catalogue = Catalogue(load_records(ROOT / "knowledge"), seed=args.seed)
    setup = Setup(catalogue, Path(args.cache_dir).resolve(), model, proxy=args.proxy_vectors)
    build = ensure_store(setup, size, args.rebuild)
    result["build"] = build_figures(build)
    result["build_raw"] = build
    if args.build_only:
        return result

    work = setup.cache_dir / "work" / str(size)
    shutil.rmtree(work, ignore_errors=True)
    started = time.perf_counter()
    shutil.copytree(setup.store_dir(size) / "chroma", work)
    result["copy_seconds"] = round(time.perf_counter() - started, 1)
    records = catalogue.records(size)
    embedder = BenchEmbedder(model)  # no vector cache: changed passages go through the model
    result["memory_before_open"] = memory_mb()
    log(f"{size}: opening (copy took {result['copy_seconds']}s)")
    started = time.perf_counter()
    kb = open_knowledge_base(work, KB_NAME, embedder)
    result["open_seconds"] = round(time.perf_counter() - started, 2)
    result["memory_after_open"] = memory_mb()
    stats = kb.stats()
    result["records"], result["passages"] = stats.records, stats.passages
    result["sparse_terms"] = stats.sparse_terms
    log(f"{size}: opened in {result['open_seconds']}s, {result['memory_after_open']}")

    for text, _ in catalogue.queries(5, size, "warm-up"):
        kb.search(text, k=args.k)
    queries = catalogue.queries(args.queries, size, "search")
    result["load_search"] = [load()]
    result["search"] = time_searches(kb, queries, args.k)
    result["load_search"].append(load())
    result["memory_after_search"] = memory_mb()
    result["dense_recall"] = dense_recall(kb, queries[:100])
    log(f"  dense recall: {result['dense_recall']}")
    if not args.search_only:
        result["changes"] = time_changes(kb, catalogue, records, size)
    result["memory_end"] = memory_mb()
    result["load_end"] = load()
    shutil.rmtree(work, ignore_errors=True)
    return result


# ============================================================================ report


def table(results: list[dict[str, Any]]) -> str:
    """A Markdown table of the main figures, one column per size."""

    def col(r: dict[str, Any], path: str, fmt: str = "{}") -> str:
        value: Any = r
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                return "-"
            value = value[part]
        return fmt.format(value)

    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("records / passages", lambda r: f"{r['size']:,} / {r.get('passages', 0):,}"),
        (
            "full build",
            lambda r: (
                f"{r['build']['seconds'] / 60:.1f} min"
                + (" (est.)" if r["build"]["estimated"] else "")
                + (
                    f", {r['build']['proxy_passages'] / max(1, r['passages']):.0%} proxy vectors"
                    if r["build"].get("proxy_passages")
                    else ""
                )
            ),
        ),
        (
            "build records/s · passages/s",
            lambda r: f"{r['build']['records_per_s']:.1f} · {r['build']['passages_per_s']:.1f}",
        ),
        ("start-up (open, reload)", lambda r: col(r, "open_seconds", "{:.1f} s")),
    ]
    for mode in ("hybrid", "dense", "bm25"):
        for suffix in ("", "+filters"):
            name = mode + suffix
            rows.append(
                (
                    f"search {name} p50/p95/p99 ms",
                    lambda r, n=name: (
                        "/".join(f"{r['search'][n][p]:.0f}" for p in ("p50", "p95", "p99"))
                        if "search" in r
                        else "-"
                    ),
                )
            )
    rows += [
        (
            "one text change → searchable (median, max)",
            lambda r: (
                col(r, "changes.single_text_change.searchable_s_median", "{:.2f} s")
                + ", "
                + col(r, "changes.single_text_change.searchable_s_max", "{:.2f} s")
            ),
        ),
        (
            "one stock change → visible to a filter",
            lambda r: col(r, "changes.single_stock_change.visible_s_median", "{:.2f} s"),
        ),
        (
            "sync, 1% stock changed (metadata only)",
            lambda r: col(r, "changes.sync_1pct_metadata.seconds", "{:.1f} s"),
        ),
        (
            "sync, 1% text changed (re-embedded)",
            lambda r: (
                col(r, "changes.sync_1pct_text.seconds", "{:.1f} s")
                + " ("
                + col(r, "changes.sync_1pct_text.changed_records_per_s", "{} rec/s")
                + ")"
            ),
        ),
        ("delete one record", lambda r: col(r, "changes.delete_one_s", "{:.2f} s")),
        (
            "RSS model loaded / after open / after search / peak",
            lambda r: (
                col(r, "memory_before_open.rss", "{:.0f}")
                + " / "
                + col(r, "memory_after_open.rss", "{:.0f}")
                + " / "
                + col(r, "memory_after_search.rss", "{:.0f}")
                + " / "
                + col(r, "memory_end.peak", "{:.0f} MB")
            ),
        ),
        ("load average during search", lambda r: col(r, "load_search", "{}")),
    ]
    header = "| | " + " | ".join(f"{r['size']:,}" for r in results) + " |"
    lines = [header, "|---" * (len(results) + 1) + "|"]
    for label, fn in rows:
        cells = []
        for r in results:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError):
                cells.append("-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="comma-separated record counts (default: %(default)s)",
    )
    parser.add_argument(
        "--queries",
        type=int,
        default=200,
        help="distinct zh/en queries per search mode (default: %(default)s)",
    )
    parser.add_argument("--k", type=int, default=5, help="hits per search (default: %(default)s)")
    parser.add_argument(
        "--cache-dir",
        default=str(ROOT / ".var" / "bench"),
        help="built stores and passage vectors (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=7, help="catalogue seed (default: %(default)s)")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild the cached stores (passage vectors stay cached)",
    )
    parser.add_argument("--build-only", action="store_true", help="only build the cached stores")
    parser.add_argument(
        "--proxy-vectors",
        action="store_true",
        help="stand in for passages the model has not embedded yet with perturbed real vectors "
        "(timing and memory only; the figures say how many)",
    )
    parser.add_argument(
        "--int8-queries",
        action="store_true",
        help="embed queries with the int8 model copy (knowledge.quantized_queries)",
    )
    parser.add_argument(
        "--search-only",
        action="store_true",
        help="skip the sync and change measurements (start-up, search, memory only)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write all figures as JSON to FILE")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        result = measure(args.worker, args)
        Path(args.result_file).write_text(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = []
    for size in sizes:
        result_file = Path(args.cache_dir).resolve() / f"result-{size}.json"
        result_file.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            str(size),
            "--result-file",
            str(result_file),
            "--queries",
            str(args.queries),
            "--k",
            str(args.k),
            "--cache-dir",
            args.cache_dir,
            "--seed",
            str(args.seed),
        ]
        command += ["--rebuild"] * args.rebuild + ["--build-only"] * args.build_only
        command += ["--proxy-vectors"] * args.proxy_vectors
        command += ["--int8-queries"] * args.int8_queries
        command += ["--search-only"] * args.search_only
        log(f"size {size}: worker starting, load {load()}")
        subprocess.run(command, check=True)
        results.append(json.loads(result_file.read_text()))
    print(
        f"\nKnowledge base at scale — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, "
        f"load {load()}\n"
    )
    print(table(results))
    for r in results:
        b = r["build"]
        print(
            f"\n{r['size']:,}: build {b['seconds']:.0f} s{' (est.)' if b['estimated'] else ''}"
            f" on {b['date']}, model {b['model_passages_per_s']} passages/s, indexing "
            f"{b['indexing_seconds']:.0f} s, load {b['load']}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
