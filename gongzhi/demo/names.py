"""Chinese names for demo people and organisations (made up; any likeness to a real person is chance)."""

from __future__ import annotations

import random

# Common surnames, roughly by frequency (the first ones are drawn more often).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_SURNAME_WEIGHTS = [1.0 / (1 + index / 8) for index in range(len(SURNAMES))]

GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欣峰建国志文斌海东亮成晨博瑞泽轩"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀玲桂英燕红梅琳雪婷慧颖洁萍玉兰倩瑶欣怡佳琪悦彤思涵雨馨月晶丹莉"


def surname(rng: random.Random) -> str:
    return rng.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]


def given_name(rng: random.Random, male: bool) -> str:
    pool = GIVEN_MALE if male else GIVEN_FEMALE
    if rng.random() < 0.3:
        return rng.choice(pool)
    return rng.choice(pool) + rng.choice(pool)


def person_name(rng: random.Random, male: bool, family_name: str | None = None) -> str:
    return (family_name or surname(rng)) + given_name(rng, male)


AGENCIES = ("区税务局第一分局", "区市场监督管理局", "区人民法院", "区供电公司", "区卫生健康委员会", "区教育局")
ENTERPRISES = ("华耀置业有限公司", "中原国际商贸城", "锦华物业服务有限公司", "红心物业服务有限公司", "顺达物流有限公司")
SCHOOLS = ("实验小学", "第二中学", "阳光幼儿园", "育英小学")
SOCIAL_ORGANISATIONS = (
    "天牧培训学校",
    "爱心联盟",
    "蓝天救援队",
    "诚信爱心服务队",
    "花园好声音艺术团",
    "金拐杖助老服务社",
)
MERCHANTS = (
    "惠民超市",
    "便民理发店",
    "口腔诊所",
    "仁和大药房",
    "好邻居早餐店",
    "洁美洗衣店",
    "平价水果店",
    "百姓菜篮子",
)
