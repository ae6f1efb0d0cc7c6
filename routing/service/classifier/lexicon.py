"""The triage vocabulary (词表) and how it is matched against an appeal's text.

Tables (data, edited by hand): colloquial and typo rewrites, cue tables per kind, category and
urgency, ask verbs, and the hotline operator's category words. A cue table is a whitespace-separated
list of ``word:weight``:
- a plain word matches as a substring of the normalised text;
- ``=word`` matches only a whole jieba token (single characters, and words that hide inside longer
  ones, such as 卫生 in 卫生院);
- ``a…b`` matches a, then at most ``GAP`` characters, then b (压力…大 matches 压力太大).
Weights: 3 = the word alone settles it, 2 = strong, 1 = a hint, below 1 = context. Words are written
as they look after normalisation (simplified, half-width, rewrites applied): 冇人照顾 is covered by
没有人照顾. Where a word is found only inside a longer word that is also a cue (治疗 in 放弃治疗),
only the longer one counts.

Matching (the bottom of this module): :func:`read` turns an appeal into a :class:`Doc` that can
report which cues it contains.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from services.common.text import normalise_text
from services.contracts.vocabulary import Category, Kind

GAP = 6  # characters allowed in place of "…" in a cue or a catalogue keyword

# Cantonese-flavoured Mandarin and hotline speech -> standard written Mandarin. Applied after
# normalise_text (so keys are simplified: OpenCC turns 嗰 into 𠮶, both are listed), longest first.
COLLOQUIAL: dict[str, str] = {
    "咗": "了", "冇": "没有", "哋": "们", "嗰": "那", "𠮶": "那", "呢度": "这里", "呢个": "这个",
    "喺": "在", "佢": "他", "嘅": "的", "啲": "些", "唔": "不", "咁": "这么", "乜嘢": "什么",
    "咩": "什么", "嘢": "东西", "点解": "为什么", "边度": "哪里", "睇医生": "看医生", "睇病": "看病",
    "睇": "看", "屋企人": "家人", "屋企": "家里", "好犀利": "很严重", "犀利": "严重", "揾工": "找工作",
    "揾": "找", "返工": "上班", "返学": "上学", "放工": "下班", "成个礼拜": "整个星期", "礼拜": "星期",
    "水浸": "积水", "浸水": "积水", "街灯": "路灯", "渠塞": "下水道堵塞", "塞渠": "下水道堵塞",
    "水渠": "排水沟", "落雨": "下雨", "细路仔": "小孩", "细路": "小孩", "老豆": "父亲", "老窦": "父亲",
    "阿妈": "母亲", "仔女": "子女", "后生仔": "年轻人", "攞": "拿", "畀": "给", "俾": "给",
    "拖粮": "拖欠工资", "出粮": "发工资", "冇人工": "没有工资", "黑麻麻": "很黑", "行路": "走路",
    "跌倒": "摔倒", "跌亲": "摔伤", "整烂": "弄坏", "冲凉": "洗澡", "瞓": "睡", "食饭": "吃饭",
    "冇饭食": "没饭吃", "讲嘢": "说话", "冇嘢食": "没东西吃", "病咗": "病了", "唔舒服": "不舒服",
}  # fmt: skip

# Frequent typos and homophones seen in typed and voice-recognised appeals.
TYPOS: dict[str, str] = {
    "拉圾": "垃圾", "垃级": "垃圾", "垃极": "垃圾", "底保": "低保", "低宝": "低保", "下水到": "下水道",
    "路登": "路灯", "残废": "残疾", "医药废": "医药费", "轮倚": "轮椅", "脱欠": "拖欠", "工姿": "工资",
    "失叶": "失业", "抑欲": "抑郁", "健生器材": "健身器材", "建身器材": "健身器材", "公侧": "公厕",
    "充电装": "充电桩", "充电庄": "充电桩", "报消": "报销", "学废": "学费", "住院废": "住院费",
    "漏申": "漏电", "踏陷": "塌陷", "坍踏": "坍塌",
}  # fmt: skip

# Cues that an appeal is about one person or one family (micro-wish) or a group (micro-project),
# independent of the category.
KIND_CUES: dict[Kind, str] = {
    "micro_wish": """
        我家:1.5 我们家:1.5 家里:1 家中:1.5 家人:1 本人:1 该户:2 一户:1.5 户主:1.5 家庭:1 困难家庭:2 孤寡:1
        独居:1 一个人住:1.5 单亲:2 某某:1.5 其父:1.5 其母:1.5 其子:1.5 其女:1.5 我父亲:1.5 我爸:1.5 我妈:1.5
        我母亲:1.5 我老公:1.5 我丈夫:1.5 我老婆:1.5 我妻子:1.5 我儿子:1.5 我女儿:1.5 我孩子:1.5 我奶奶:1.5
        我爷爷:1.5 我外婆:1.5 老伴:1.5 夫妻:1 患有:1 他们家:1.5 她家:1.5 他家:1.5 我一个人:1.5 全家:1 一家:1
        帮帮我:1.5 我想:0.5 我们一家:1.5 妻子:0.5 丈夫:0.5 儿子:0.5 女儿:0.5 父亲:0.5 母亲:0.5
        一个人带孩子:1.5
    """,
    "micro_project": """
        小区:1.5 村里:1 村民:1.5 居民:1.5 街坊:1.5 大家:1 公共:2 社区:0.5 群众:1 周边:1 路口:1.5 村口:1.5
        楼道:1.5 楼栋:1.5 整栋:1.5 多户:2 过往:1.5 行人:1.5 业主:1.5 全村:2 一带:1 片区:1.5 市场:1 公园:1.5
        广场:1.5 附近:0.5 门口:0.5 住户:1.5 老人们:2 孩子们:2 小朋友们:2 居民们:2 村民们:2 长者们:2 学生们:2
        很多老人:1.5 不少:1 很多人:1.5 几百人:2 辖区:1 上下学:1 家庭多:2 老人多:2 孩子多:1.5 希望社区:1.5
        出行:1.5 邻居:0.5 建议:1 希望增设:2 希望建:1.5 增设:1.5 加装:1 社区搞:1.5 想社区:1.5 楼下:0.5 开通:1.5
        路过的人:1.5
    """,
}

CATEGORY_CUES: dict[Category, str] = {
    # --- micro-project ---
    "environment": """
        垃圾:3 垃圾桶:1 垃圾站:1 绿化:3 =卫生:2 环境卫生:3 脏乱差:3 脏乱:2.5 黑臭水体:3 臭水沟:3 河涌:2 发臭:2
        臭味:2 臭气:2 蚊虫:2 蚊子:1.5 老鼠:1.5 杂草:2 乱堆:2 乱扔:2 堆放:1.5 建筑垃圾:2 清理:1.5 清运:2 美化:3
        墙绘:2 种树:2 花草:2 污水:2 苍蝇:1.5 排污:2 噪音:1.5 油烟:1.5 违建:2 违章搭建:2 占道:1.5 乱摆卖:2
        环境:1 牛皮癣:2 小广告:2 异味:2 垃圾分类:2 废气:2 粉尘:2 淤泥:2 水浮莲:2 保洁:2 绿地:2.5 荒地:2
        杂物:1.5 堆满:1.5 溢:1.5 臭得:2 =臭:1.5 化粪池:2 =树:1.5 大树:2 树木:2 树枝:1.5 吹歪:1.5 古树:2
        污染:2.5 偷排:3 打桩:2 施工:1 除草:2.5 种…树:2 粪:1.5 烧垃圾:2.5 黑烟:2
    """,
    "housing_repair": """
        漏水:3 渗水:3 漏雨:3 外墙:3 墙皮:2 脱落:1.5 老旧小区:3 屋顶:2 楼顶:2 天台:2 防水:2.5 房屋修缮:3 修缮:3
        裂缝:2 墙体:2 开裂:2 瓦面:2 瓦片:2 水管爆裂:2 加装电梯:3 危房:2 墙面:1.5 楼梯:1 扶手:1.5 门窗:1.5
        翻新:2 维修房屋:3 房子漏:3 旧房:2 破旧:1.5 发霉:1.5 楼梯间:1.5 供水管:1.5 化粪池:2 楼体:2 往下掉:1.5
        老楼:2 地漏:2.5 下水管:2 冲厕所:1.5 楼上:1 水印:2
    """,
    "facility": """
        路灯:3 照明:2 =灯:1.5 道路:2 路面:2.5 坑洼:3 烂路:3 坑坑洼洼:3 修路:3 破损:1 坡道:3 无障碍:2 活动室:3
        活动中心:3 健身器材:3 公厕:3 厕所:2 停车:2.5 停车位:3 充电桩:3 井盖:3 下水道:2.5 排水:2 积水:2.5
        =桥:1.5 桥梁:2 护栏:2.5 栏杆:2 减速带:3 红绿灯:3 信号灯:3 斑马线:3 人行道:2.5 公交站:3 候车亭:3
        凉亭:2.5 座椅:2 长椅:2 篮球场:3 球场:2.5 监控:2.5 摄像头:2.5 消防栓:2 雨棚:2 晾衣:1.5 路牌:2.5
        电线:1.5 漏电:2 道路硬底化:3 硬底化:3 台阶:2 天桥:2 水泥路:2.5 泥路:2.5 车棚:2.5 电动车:1.5 充电:1.5
        健身:2 路不好走:2.5 很黑:1.5 不亮:2 排水沟:2.5 涵洞:2 管道:1 堵塞:1.5 设施:1.5 电梯:1 儿童游乐:2.5
        滑梯:2 路烂:3 =坑:2 坑很深:2.5 盏:2 灯坏:2.5 灯都坏:2.5 倒灌:2 公交车:2.5 公交:2 村巴:3 线路:1.5
        候车点:3 通车:2.5 班车:2.5 步道:2.5 地砖:2 摸黑:2 绊倒:1.5 高压电线:2.5 高压线:2.5
    """,
    "public_service": """
        长者饭堂:3 饭堂:2 助餐:3 送餐:2 四点半课堂:3 四点半:2 课后托管:3 托管:2 放学后:1.5 助残:3 义诊:2.5
        讲座:2.5 兴趣班:2.5 暑期:2 夏令营:2.5 青少年:1.5 志愿者:1.5 义工:1.5 关爱:1.5 探访:1.5 公益:2 课堂:2
        培训班:1.5 文艺:2 读书角:2.5 图书:2 上门服务:1.5 活动:1 长者:1 残疾人:1 组织:1.5 开展:2 定期:1.5
        服务:0.5 陪伴:1 康复活动:2.5 亲子:2 防诈骗:2 健康讲座:2.5 社工:1.5 课程:2 辅导功课:2.5 免费理发:2.5
        托育:2.5 老年大学:2.5 老年人:0.5 免费:1.5 量血压:2.5 体检:2 智能手机:2.5 学用:1.5 教老人:2.5 午饭:1.5
        送饭:2
    """,
    # --- micro-wish ---
    "living": """
        生活困难:3 =困难:1.5 没钱:2 没有钱:2 吃饭:1.5 断粮:3 米油:2.5 生活费:2.5 收入:1.5 低保:3 特困:3
        救助:1.5 贫困:2 困难:1 十分困难:2 丧失劳动能力:2.5 没有劳动能力:2.5 家境:2 拮据:2.5 入不敷出:3 欠债:2
        债务:2 去世:1.5 离世:1.5 丧偶:2 孤儿:3 无人抚养:3 抚养:1 衣物:2 棉被:2 被子:2 家电:2 冰箱:2 衣服:1.5
        日常开支:2.5 揭不开锅:3 火灾:1.5 烧毁:2 受灾:2 过年:1 没饭吃:3 没东西吃:3 生活:1 温饱:3 吃不饱:3
        补贴:1 开支:1.5 负担:1.5 家徒四壁:3 维持生活:2.5 没收入:2.5 没有收入:2.5 经济来源:2 =穷:2 一身债:2.5
        欠了:1 买不起:1.5 救济:2.5 帮扶:1.5 两项补贴:2 优抚:3 退役军人:2 打零工:1.5 打散工:1.5 成问题:1
        台风:1.5 没有收入来源:3 一个人带孩子:2.5 就剩:1.5 不给钱:1 积蓄:2 拿不出:2 丧事:2.5 办丧事:2.5
        丧葬:2.5 殡葬:2.5 走了:1 护理补贴:2.5 残疾补贴:2.5 生活补贴:2 判…刑:2 坐牢:2 服刑:2 跑了:1
        跟着…奶奶:1.5 跟着…爷爷:1.5 留守:1.5
    """,
    "medical": """
        住院:3 医院:2 看病:3 医药费:3 医疗费:3 手术:3 治疗:2.5 化疗:3 透析:3 癌:2.5 白血病:3 尿毒症:3 重病:2
        生病:2 患病:2 =病:1.5 病情:2 药费:3 =药:1 康复:2 轮椅:2 瘫痪:2 中风:2 残疾:1 车祸:1.5 受伤:2 骨折:2.5
        医保:2.5 医疗救助:3 确诊:2.5 肿瘤:2.5 住院费:3 ICU:3 重症:2.5 脑溢血:3 心脏病:3 糖尿病:2.5 病了:2
        看医生:2.5 医生:1.5 报销:1.5 助听器:2.5 假肢:2.5 脑瘫:3 自闭症:2 孤独症:2 疾病:2 病房:2.5 抢救:2.5
        药物:2 不舒服:1 大病:2.5 脑梗:3
    """,
    "education": """
        上学:3 学费:3 读书:2 辍学:3 学生:1.5 大学:2 考上:2 录取:2 学位:2.5 入学:2.5 助学:3 书包:2.5 文具:2.5
        网课:2 孩子:1 高中:2 初中:2 小学:1.5 幼儿园:2 补课:1.5 积分入学:3 教育:1.5 学杂费:3 读大学:2.5
        上大学:2.5 学校:1.5 课本:2 电脑:1 成绩:1.5 升学:2.5 中职:2 技校:2 念书:2 开学:2 考试:1 学习用品:2.5
    """,
    "elderly_care": """
        老人:1.5 老年人:1.5 阿婆:2 阿伯:2 阿公:2 阿嫲:2 长者:1.5 独居:2 空巢:3 孤寡:2 照顾:2 照料:2 护理:1.5
        养老院:3 敬老院:3 养老:2.5 行动不便:2 失能:3 半失能:3 老年痴呆:2.5 认知障碍:2.5 高龄:2 赡养:2
        子女不管:2.5 无人照顾:3 没人照顾:3 没有人照顾:3 没人管:1.5 居家养老:3 助浴:2.5 陪护:2 适老化:2.5
        老奶奶:2 老爷爷:2 老太太:2 老大爷:2 高龄津贴:3 一个人住:1.5 卧床:2 不能自理:2.5 老伴:1 失独:2.5
        奶奶:1.5 爷爷:1.5 外婆:1.5 外公:1.5 老父亲:1.5 老母亲:1.5 翻身:2 喂饭:2.5 没人…照顾:2.5 煮饭:1 做饭:1
        子女都在外地:2 子女在外地:2 瘫痪在床:1.5
    """,
    "employment": """
        失业:3 找工作:3 =工作:1 就业:3 下岗:3 没有工作:3 没工作:3 失去工作:3 被辞退:3 辞退:2.5 裁员:3 倒闭:2
        打工:1.5 岗位:2 技能培训:2.5 职业培训:2.5 招聘:2 求职:3 创业:2 上班:1 再就业:3 找不到工作:3 没活干:3
        工作难找:3 培训:1 就业援助:3 失业金:3 失业保险:3 手艺:1.5 学技术:2.5 劳动能力:1.5 考证:1.5
        公益性岗位:3 找…工作:2.5 找份工作:3 找一份:2 手工活:2.5 活干:1.5 挣钱:1.5 赚钱:1.5 补贴家用:2
        稳定工作:2.5 没有稳定工作:3 考个证:2
    """,
    "housing": """
        住房:3 租房:3 房租:3 租金:2.5 没地方住:3 无处居住:3 无家可归:2.5 住处:2 公租房:3 廉租房:3 房子:1.5
        住所:2 搬家:1.5 被赶出:2.5 危房:2 铁皮房:2.5 安置:2 宅基地:2 住的地方:2.5 露宿:2.5 流浪:2 房东:2
        租不起:3 睡在:1 棚屋:2.5 倒塌:1 房屋倒塌:2 住房困难:3 保障房:3 没有地方住:3 住哪里:2.5 出租屋:2 漏水:3
        渗水:3 漏雨:3 屋顶:1.5 瓦片:2 瓦面:2 开裂:1.5 裂缝:1.5 墙体:1.5 发霉:1 房子漏:3 修房子:3 房屋维修:2.5
        老房子:1.5 旧房:1.5 塌了:1.5 不敢回去住:2.5
    """,
    "counselling": """
        心理:3 抑郁:3 焦虑:3 情绪:2.5 想不开:3 自杀:2.5 轻生:2.5 心理疏导:3 压力大:2 失眠:1.5 精神:1.5
        叛逆:2.5 厌学:2.5 沉迷:2 网瘾:3 家庭矛盾:2 吵架:1.5 孤独:2 自闭:2 心情:2 崩溃:2 不想活:3 活着没意思:3
        不肯上学:2.5 不想上学:2.5 不肯去学校:2.5 关在房间:2.5 玩手机:2 不说话:2 哭:1 沟通:1.5 不愿出门:2
        心结:2.5 疏导:2.5 闷闷不乐:2.5 寂寞:2 谈心:2.5 不愿意出门:2 不跟人说话:2.5 酗酒:2.5 喝酒:1.5 很担心:1
        压力太大:2.5 压力很大:2.5 压力…大:2 偷偷哭:2.5 没有上学:2.5 不出门:2 不跟人讲话:2.5 不同人说话:2.5
        担心:1 以泪洗面:2.5 吃不下:1.5 睡不着:1.5 想跟着去:3 伤心:2 悲伤:2 走不出来:2.5 想死:3 发脾气:2.5
        压抑:2.5 气氛:1 不敢…说话:2
    """,
    "rights": """
        欠薪:3 拖欠工资:3 =工资:1.5 讨薪:3 工伤:3 赔偿:2.5 维权:3 纠纷:2.5 法律:2.5 律师:2.5 起诉:2.5 打官司:3
        家暴:3 家庭暴力:3 被打:2 离婚:2 抚养费:2.5 赡养费:2.5 合同:1.5 诈骗:2 被骗:2.5 劳动仲裁:3 仲裁:2.5
        权益:2.5 遗产:2 侵权:3 老板:1.5 不发工资:3 克扣:3 法院:2 欺负:1.5 拖欠:2 欠工资:3 工钱没给:3 虐待:2.5
        调解:2 威胁:2 骚扰:2 不赡养:2.5 法律援助:3 工钱:2.5 拖欠…工资:3 补偿:2.5 经济补偿:3 霸占:3 侵占:3
        强占:3 保健品:2.5 联系不上:2 上当:2.5 押金:2.5 不退:2
    """,
    "hospice": """
        安宁疗护:3 临终:3 晚期:2.5 癌症晚期:3 最后一程:3 时日无多:3 放弃治疗:2.5 姑息:3 舒缓治疗:3 舒缓护理:3
        止痛:2 生命末期:3 善终:3 缓和医疗:3 弥留:3 临终关怀:3 终末期:3 走得安详:3 没有痛苦:2 减轻痛苦:2.5
        剩下的日子:2.5 病危:1 扩散:2 转移:1 没办法治:2.5 治不好:2 回家走:2.5 痛苦:1.5 减轻…痛苦:2.5 癌晚期:3
        止疼:2 疼得:1.5 没得医:2.5 没有得医:2.5 最后的日子:3 最后…日子:2.5 度过最后:3
        治疗意义不大:3 最后阶段:3 复发:1 不想再…治:2.5
    """,
}

# Urgency (紧急程度). Emergency: an individual's sudden event (急难事) that needs help within days.
EMERGENCY_CUES = """
    突发:2.5 突然:1 重病:2 病危:3 急需:1 急用:1 紧急:1.5 火灾:3 失火:3 着火:3 烧毁:3 车祸:3 断粮:3
    揭不开锅:2.5 没饭吃:2.5 无家可归:3 露宿:3 流落街头:3 生命危险:3 自杀:3 轻生:3 想不开:2 跳楼:3 不想活:3
    活着没意思:2.5 抢救:3 ICU:3 重症监护:3 命悬一线:3 意外:1.5 溺水:3 走失:2.5 住院急需:2.5 脑溢血:2.5 心梗:3
    被困:2 房屋倒塌:2.5 被淹:2 冲毁:2 没钱做手术:2 急:0.5 身无分文:2.5 家暴:1.5 被打伤:2.5 病重:2 危重:3
    台风:2 掀翻:2 洪水:2 水灾:2 暴雨:1 脑梗:2.5 突然…走了:2.5 想跟着去:2.5 想死:3 塌了:2 冲进:1.5 不敢回去住:2
    山泥:1.5
"""

# Urgent: a safety hazard affecting many people (a micro-project, or a dangerous home).
URGENT_CUES = """
    漏电:3 触电:3 塌陷:3 坍塌:3 倒塌:3 塌方:3 随时:1 安全隐患:2.5 隐患:1.5 危险:1.5 积水严重:3 内涝:2.5 水淹:2
    =淹:2 井盖丢失:3 井盖:1 电线裸露:3 裸露:1.5 燃气泄漏:3 煤气味:3 脱落:1 掉落:2 砸伤:3 砸到:2.5 危房:2
    山体滑坡:3 滑坡:3 断裂:2 摇晃:1.5 松动:1 起火:3 火灾:3 摔伤:2 生命危险:3 掉下来:2 倾斜:2 开裂:1 很深:1
    严重:1 着火:3 积水:0.5 积水很严重:3 积水很深:3 严重积水:3 水深:1.5 车速快:1.5 车速很快:1.5 不安全:1.5
    事故:1.5 撞:1 淹死:3 小孩掉:2 往下掉:2 提心吊胆:1.5 倒灌:1.5 高压线:2 高压电线:2 压断:2 警戒线:2
    垂到地面:2 电线掉:2.5 倒下来:2 吹歪:1
"""

# The text asks for help beyond the express fund's cap: donors (莞家直达) are the likely track.
LARGE_HELP_CUES = "巨额:1 大额:1 高额:1 几十万:1 天价:1 倾家荡产:1 负债累累:1"

# Ask verbs: an alias near one of these is a request for that policy (申请低保), not a status.
ASK_VERBS: tuple[str, ...] = (
    "申请", "办理", "纳入", "评上", "申领", "领取", "咨询", "能不能", "可不可以", "想要", "帮忙办",
    "怎么办", "符合", "享受不到", "办个", "办了",
)  # fmt: skip
# An alias followed by one of these describes who the person already is (他是低保户).
STATUS_SUFFIXES: tuple[str, ...] = ("户", "家庭", "对象", "人员", "老人", "证")

# The hotline operator's category (free text such as "城市管理/路灯") -> our category.
HINT_CUES: dict[str, Category] = {
    "路灯": "facility", "市政": "facility", "道路": "facility", "交通设施": "facility",
    "公共设施": "facility", "城市管理": "facility", "排水": "facility", "环境卫生": "environment",
    "市容": "environment", "环境": "environment", "环保": "environment", "污染": "environment",
    "绿化": "environment", "垃圾": "environment", "房屋": "housing_repair", "物业": "housing_repair",
    "住宅": "housing_repair", "为老服务": "public_service", "公益": "public_service",
    "社区服务": "public_service", "社会救助": "living", "民政": "living", "救助": "living",
    "低保": "living", "医疗": "medical", "医保": "medical", "卫生健康": "medical", "教育": "education",
    "学校": "education", "养老": "elderly_care", "老龄": "elderly_care", "就业": "employment",
    "人社": "employment", "劳动就业": "employment", "住房保障": "housing", "住房": "housing",
    "心理": "counselling", "劳动保障": "rights", "劳资": "rights", "法律": "rights",
    "维权": "rights", "纠纷": "rights", "妇女": "rights", "安宁疗护": "hospice",
}  # fmt: skip


# --- matching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    """One parsed table entry."""

    word: str
    weight: float
    token_only: bool


def parse(table: str) -> tuple[Cue, ...]:
    """A cue table (``word:weight ...``) -> cues."""
    cues = []
    for item in table.split():
        word, _, weight = item.rpartition(":")
        cues.append(Cue(word.lstrip("=").lower(), float(weight), word.startswith("=")))
    return tuple(cues)


@lru_cache(maxsize=4096)
def pattern(word: str) -> re.Pattern[str]:
    """A cue word or catalogue keyword as a regular expression (``…`` = up to GAP characters)."""
    return re.compile(f".{{0,{GAP}}}?".join(re.escape(part) for part in word.lower().split("…")))


@dataclass(frozen=True)
class Tables:
    """All cue tables, parsed."""

    kind: dict[Kind, tuple[Cue, ...]]
    category: dict[Category, tuple[Cue, ...]]
    emergency: tuple[Cue, ...]
    urgent: tuple[Cue, ...]
    large_help: tuple[Cue, ...]


@lru_cache(maxsize=1)
def tables() -> Tables:
    """The parsed tables (parsed once per process)."""
    return Tables(
        kind={k: parse(v) for k, v in KIND_CUES.items()},
        category={c: parse(v) for c, v in CATEGORY_CUES.items()},
        emergency=parse(EMERGENCY_CUES),
        urgent=parse(URGENT_CUES),
        large_help=parse(LARGE_HELP_CUES),
    )


class _Tokenizer(Protocol):
    def lcut(self, sentence: str) -> list[str]: ...


@lru_cache(maxsize=1)
def _tokenizer() -> _Tokenizer:
    # Lazy: jieba loads its dictionary (~1 s) and logs to stderr on first use. A private Tokenizer
    # keeps our domain words out of the process-wide default dictionary other code may use.
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer: _Tokenizer = jieba.Tokenizer()
    t = tables()
    for group in (*t.kind.values(), *t.category.values(), t.emergency, t.urgent):
        for cue in group:
            if len(cue.word) > 1 and "…" not in cue.word:
                tokenizer.add_word(cue.word)  # type: ignore[attr-defined]
    return tokenizer


@lru_cache(maxsize=1)
def _rewrite_re() -> tuple[re.Pattern[str], dict[str, str]]:
    table = {**COLLOQUIAL, **TYPOS}
    keys = sorted(table, key=len, reverse=True)  # longest first: 屋企人 before 屋企
    return re.compile("|".join(map(re.escape, keys))), table


@dataclass(frozen=True)
class Doc:
    """An appeal's text, normalised and tokenised, ready for matching."""

    text: str
    tokens: frozenset[str]
    rewrites: tuple[str, ...]  # the colloquial / typo rewrites applied, as "咗→了"
    shadowed: frozenset[str]  # cue words found only inside a longer cue word

    def has(self, word: str) -> bool:
        """Whether a word (plain or with ``…``) occurs in the text."""
        if "…" not in word:
            return word.lower() in self.text  # the common case, and far cheaper than a regex
        return pattern(word).search(self.text) is not None

    def hits(self, cues: Iterable[Cue]) -> list[tuple[str, float]]:
        """The cues found in the text, with their weights."""
        return [
            (c.word, c.weight)
            for c in cues
            if c.word not in self.shadowed and (c.word in self.tokens if c.token_only else self.has(c.word))
        ]


def _shadowed(text: str, words: Iterable[str]) -> frozenset[str]:
    """Longest match wins: words every occurrence of which lies inside a longer found word."""
    present = (w for w in words if "…" in w or w in text)
    spans = {w: [m.span() for m in pattern(w).finditer(text)] for w in present}
    found = [span for occurrences in spans.values() for span in occurrences]
    return frozenset(
        w
        for w, occurrences in spans.items()
        if occurrences
        and all(any(s2 <= s and e <= e2 and e2 - s2 > e - s for s2, e2 in found) for s, e in occurrences)
    )


def read(title: str | None, description: str) -> Doc:
    """Normalise (simplified, half-width), rewrite colloquial speech and typos, lower-case, tokenise."""
    raw = " ".join(part for part in (title, description) if part)
    rx, table = _rewrite_re()
    rewrites: list[str] = []

    def rewrite(m: re.Match[str]) -> str:
        rewrites.append(f"{m.group(0)}→{table[m.group(0)]}")
        return table[m.group(0)]

    text = rx.sub(rewrite, normalise_text(raw)).lower()
    tokens = frozenset(tok for tok in _tokenizer().lcut(text) if tok.strip())
    t = tables()
    words = {c.word for group in (*t.kind.values(), *t.category.values()) for c in group if not c.token_only}
    return Doc(text, tokens, tuple(dict.fromkeys(rewrites)), _shadowed(text, words))


# Numbers in the text: how many people or households (a group), ages, and sums of money.
_NUM = r"[0-9]+|[零一二两三四五六七八九十百几]+"
_GROUP_RE = re.compile(
    r"(?:多|几|十几|数十|上百|[0-9]+多?|[两三四五六七八九十百]+多?)"
    r"(?:户|栋|幢|盏|个村民|名居民|位居民|名村民|位村民|位老人|名老人|位长者|名学生|名儿童)"
)
_AGE_RE = re.compile(rf"({_NUM})多?岁")
_AMOUNT_RE = re.compile(
    r"([0-9]+(?:\.[0-9]+)?|[零一二两三四五六七八九十百几]+)多?\s*(?:(万|千)\s*[元块]?|[元块])"
)
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
_CN_DIGITS["几"] = 3  # 几 "a few": count it as three


def cn_number(s: str) -> float:
    """Digits or a simple Chinese numeral (十几, 二十五, 几十) -> a number."""
    if s[0].isdigit():
        return float(s)
    total, current = 0, 0
    for ch in s:
        if ch in "十百":
            total += (current or 1) * (10 if ch == "十" else 100)
            current = 0
        else:
            current = _CN_DIGITS.get(ch, 0)
    return float(total + current)


_PERSON_RE = re.compile(
    r"(?:[陈李黄张刘林王杨吴何郑梁谢罗周邓叶许蔡曾彭冯钟卢潘袁莫赖方苏钱赵孙朱胡郭马高]|老)"
    r"(?:伯|婆|叔|姨|大爷|大妈|奶奶|爷爷|婆婆|阿姨)"
)


def person_mentions(text: str) -> list[str]:
    """One named person as cadres write them (陈伯, 李婆婆, 王阿姨): a sign of a micro-wish."""
    return [m.group(0) for m in _PERSON_RE.finditer(text)]


def group_mentions(text: str) -> list[str]:
    """Counted groups: 多盏 (lamps), 十几户 (households), 20多名老人 ..."""
    return [m.group(0) for m in _GROUP_RE.finditer(text)]


def ages(text: str) -> list[tuple[int, str]]:
    """Ages named in the text (85岁, 七十多岁), with their wording."""
    return [(int(cn_number(m.group(1))), m.group(0)) for m in _AGE_RE.finditer(text)]


def largest_amount_yuan(text: str) -> tuple[int, str] | None:
    """The largest sum of money the text names (二十万, 3000元), in yuan, with its wording."""
    best: tuple[int, str] | None = None
    for m in _AMOUNT_RE.finditer(text):
        factor = {"万": 10_000, "千": 1_000}.get(m.group(2) or "", 1)
        yuan = int(cn_number(m.group(1)) * factor)
        if best is None or yuan > best[0]:
            best = (yuan, m.group(0))
    return best
