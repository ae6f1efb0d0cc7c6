"""The livelihood policy catalogue (政策目录): 42 Guangdong / Dongguan policies held by 17 departments.

"Policy first" (政策优先): an appeal that a current policy can handle goes to the department that
runs it; only what no policy covers reaches the programme's own tracks. Triage matches appeals
against this catalogue, so it is data, not code: city staff edit it and bump ``CATALOGUE_VERSION``.

Matching vocabulary per policy:
- ``aliases``: what residents call the policy itself (低保, 公租房, 法援). Naming it is the strongest
  signal; an ask verb next to it (申请低保) is stronger still.
- ``keywords``: eligibility cues (父母双亡, 被裁员): situations the policy is made for. ``…`` in a
  keyword allows up to six characters between its parts (拖欠…工资 matches 拖欠我三个月工资).

Time limits are the working days the department has to decide, taken from the policy's own rules
where they fix one (e.g. 法律援助法 art. 43: seven days), otherwise the city's service promise.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.contracts.vocabulary import (
    Category,
    Kind,
)

CATALOGUE_VERSION = "2026.1"

# The taxonomy (kinds, categories and which categories each kind has) is the shared vocabulary's.

# The 17 department codes of DESIGN §4 with their Chinese names. Display data for the rest of
# the system lives in services.common.reference; this copy lets the catalogue validate itself.
DEPARTMENTS: dict[str, str] = {
    "civil_affairs": "民政局",
    "hrss": "人力资源和社会保障局",
    "medical_security": "医疗保障局",
    "health": "卫生健康局",
    "education": "教育局",
    "housing": "住房和城乡建设局",
    "disabled_persons": "残疾人联合会",
    "justice": "司法局",
    "veterans": "退役军人事务局",
    "women": "妇女联合会",
    "youth": "共青团",
    "trade_union": "总工会",
    "urban_management": "城市管理和综合执法局",
    "ecology": "生态环境局",
    "agriculture": "农业农村局",
    "emergency": "应急管理局",
    "natural_resources": "自然资源局",
}


@dataclass(frozen=True)
class Policy:
    """One livelihood policy: who runs it, who qualifies, what to bring, how long it takes."""

    code: str
    name: str
    department: str
    eligibility: str
    materials: tuple[str, ...]
    time_limit_working_days: int
    keywords: tuple[str, ...]
    kind: Kind
    category: Category
    # Defaulted and last so that code building a Policy from the nine documented fields still works.
    aliases: tuple[str, ...] = ()


def _p(
    code: str,
    name: str,
    kind: Kind,
    category: Category,
    days: int,
    eligibility: str,
    materials: str,
    aliases: str,
    keywords: str,
) -> Policy:
    """Build a row of the table below; the department is the code's prefix, lists are space-separated."""
    return Policy(
        code=code,
        name=name,
        department=code.split(".", 1)[0],
        eligibility=eligibility,
        materials=tuple(materials.split()),
        time_limit_working_days=days,
        keywords=tuple(keywords.split()),
        kind=kind,
        category=category,
        aliases=tuple(aliases.split()),
    )


_W: Kind = "micro_wish"
_P: Kind = "micro_project"

# Rows: code, name, kind, category, days / eligibility / materials / aliases / keywords.
# Kept as a table (formatter off) because staff read and edit it row by row.
# fmt: off
POLICIES: tuple[Policy, ...] = (
    # --- 民政 civil affairs: the core of 社会救助 (Interim Measures on Social Assistance) ---
    _p("civil_affairs.dibao", "最低生活保障", _W, "living", 30,
       "本市户籍，家庭月人均收入低于当地低保标准，家庭财产符合规定",
       "身份证 户口簿 家庭收入和财产申报 授权核对书 银行账户",
       "低保 最低生活保障",
       "没有收入 无收入 收入很低 入不敷出 丧失劳动能力 没有劳动能力 维持基本生活"),
    _p("civil_affairs.tekun", "特困人员救助供养", _W, "living", 30,
       "无劳动能力、无生活来源、无法定赡养抚养扶养义务人或其无履行能力的老年人、残疾人、未成年人",
       "身份证 户口簿 残疾人证或病历 无赡养能力证明",
       "特困 五保 特困供养 特困人员",
       "孤寡 无儿无女 没有子女 无依无靠 无生活来源 无劳动能力 无人赡养 没人赡养 五保户"),
    _p("civil_affairs.temporary_assistance", "临时救助", _W, "living", 10,
       "因突发事件、意外伤害、重大疾病等导致基本生活暂时出现严重困难的家庭或个人（含非户籍常住人口）",
       "身份证 困难情况说明 相关证明（病历、火灾证明、事故证明）",
       "临时救助 急难救助",
       "突发 意外 火灾 失火 车祸 急难 断粮 揭不开锅 遭遇变故 一时困难 生活陷入困境"),
    _p("civil_affairs.low_income", "低保边缘家庭救助", _W, "living", 30,
       "家庭人均收入高于低保标准但低于其1.5倍，或因刚性支出致基本生活困难的低收入家庭",
       "身份证 户口簿 家庭收入和财产申报 刚性支出凭据",
       "低保边缘 低收入家庭 低边家庭",
       "收入略高于低保 刚性支出 支出型贫困 因病支出大"),
    _p("civil_affairs.orphan", "孤儿基本生活保障", _W, "living", 30,
       "父母均死亡或被宣告死亡、失踪的未满18周岁儿童",
       "儿童身份证或户口簿 父母死亡证明或宣告失踪判决 监护人身份证",
       "孤儿",
       "父母双亡 父母…去世 父母…死亡 父母…不在了"),
    _p("civil_affairs.unsupported_children", "事实无人抚养儿童基本生活保障", _W, "living", 30,
       "父母双方重残、重病、服刑、失联等，或一方死亡失踪另一方符合上述情形的儿童",
       "儿童户口簿 父母情况证明（残疾证、判决书、失联报案回执） 监护人身份证",
       "事实无人抚养 无人抚养儿童",
       "父母服刑 服刑 坐牢 判…刑 母亲失联 父母失联 妈妈跑了 母亲跑了 离家出走 跟着…奶奶 跟着…爷爷"),
    _p("civil_affairs.elderly_allowance", "高龄老人津贴", _W, "elderly_care", 20,
       "本市户籍年满80周岁的老年人，按年龄段按月发放",
       "身份证 户口簿 银行账户",
       "高龄津贴 高龄补贴 长寿金 高龄老人津贴",
       "年满80周岁 八十多岁 九十多岁 百岁老人"),
    _p("civil_affairs.elderly_care_subsidy", "经济困难老年人居家养老服务资助", _W, "elderly_care", 20,
       "本市户籍经济困难的失能、半失能、高龄或独居老年人，经评估给予居家养老服务资助",
       "身份证 户口簿 老年人能力评估表 经济困难证明",
       "居家养老服务补贴 养老服务补贴 养老服务资助",
       "失能 半失能 生活不能自理 卧床不起 经济困难老人 低保老人"),
    # The two disability subsidies (国发〔2015〕52号) are run and paid by 民政 while the 残联 certifies
    # the disability; residents apply at the town's social affairs office, so the appeal goes to
    # civil_affairs, as in practice.
    _p("civil_affairs.disability_subsidies", "困难残疾人生活补贴和重度残疾人护理补贴", _W, "living", 20,
       "持第二代残疾人证的低保、低收入家庭残疾人（生活补贴）；残疾等级一、二级的重度残疾人（护理补贴）",
       "身份证 户口簿 残疾人证 银行账户",
       "两项补贴 残疾人生活补贴 重度残疾人护理补贴 护理补贴 残疾补贴",
       "残疾证 残疾人证 一级残疾 二级残疾 重度残疾 瘫痪在床 智力残疾 肢体残疾"),
    _p("civil_affairs.vagrant", "流浪乞讨人员救助", _W, "housing", 5,
       "自身无力解决食宿、无亲友投靠、正在流浪乞讨的人员（不限户籍）",
       "本人陈述 身份信息（如有）",
       "救助站 流浪乞讨",
       "流浪 露宿街头 露宿 乞讨 无家可归 睡在桥底 睡天桥 身无分文"),
    # --- 人社 human resources and social security ---
    _p("hrss.employment_relief", "就业救助", _W, "employment", 15,
       "低保家庭、特困人员中有劳动能力并处于失业状态的成员",
       "身份证 低保证明 失业登记",
       "就业救助",
       "低保户 低保家庭 零就业家庭 家里没人工作 全家没人上班 公益性岗位"),
    _p("hrss.employment_assistance", "就业援助（就业困难人员认定与公益性岗位）", _W, "employment", 15,
       "登记失业的大龄、残疾、零就业家庭等就业困难人员",
       "身份证 就业创业证 困难情形证明",
       "就业援助 就业困难人员 4050人员 公益性岗位",
       "找不到工作 找工作…难 长期失业 年纪大没人要 再就业 就业困难 四十多岁 五十多岁"),
    _p("hrss.unemployment_insurance", "失业保险金", _W, "employment", 10,
       "非因本人意愿中断就业、缴纳失业保险满1年、已办理失业登记并有求职要求",
       "身份证 解除劳动关系证明 社保卡",
       "失业保险 失业金 失业保险金",
       "被裁员 裁员 被辞退 工厂倒闭 厂子倒闭 公司倒闭 买了社保 交了社保 非本人意愿"),
    _p("hrss.vocational_training", "职业技能提升培训补贴", _W, "employment", 15,
       "在莞劳动者参加职业技能培训并取得证书",
       "身份证 培训合格证书 社保卡",
       "培训补贴 职业技能培训 技能培训补贴",
       "学技术 学手艺 学一门技术 考证 职业资格"),
    _p("hrss.wage_arrears", "劳动保障监察（欠薪投诉）", _W, "rights", 10,
       "用人单位拖欠或克扣劳动报酬、违法解除劳动合同的劳动者",
       "身份证 劳动合同或工资记录 考勤记录",
       "劳动监察 劳动保障监察 欠薪投诉",
       "欠薪 拖欠…工资 讨薪 不发工资 工资没发 老板跑路 老板跑了 克扣…工资"),
    # --- 医保 medical security ---
    _p("medical_security.medical_assistance", "医疗救助", _W, "medical", 20,
       "低保、特困、低收入家庭成员及因病致贫的重病患者，对医保报销后的自付费用给予救助",
       "身份证 医疗费用票据 出院小结 医保结算单",
       "医疗救助 大病救助",
       "医疗费 医药费 住院费 手术费 治疗费 自付 自费部分 看病贵 报销后 因病致贫 大病"),
    _p("medical_security.insurance_subsidy", "困难群众参保资助", _W, "medical", 15,
       "低保、特困、低收入、重度残疾等困难群众参加城乡居民医保的个人缴费予以资助",
       "身份证 户口簿 困难身份证明",
       "参保资助 医保资助 代缴医保",
       "交不起医保 没钱交医保 医保断缴 没有医保 没买医保 城乡居民医保"),
    _p("medical_security.outpatient_special", "门诊特定病种待遇", _W, "medical", 15,
       "参保人患尿毒症透析、恶性肿瘤放化疗等门诊特定病种，经认定享受门诊待遇",
       "社保卡 诊断证明 病历",
       "门特 门诊特定病种 门诊慢特病 慢特病",
       "长期服药 长期吃药 透析 血透 尿毒症 慢性病 门诊报销 放疗"),
    # --- 卫健 health ---
    _p("health.hospice", "安宁疗护服务", _W, "hospice", 10,
       "疾病终末期、预期生存期有限的患者及其家属",
       "身份证 病情诊断证明",
       "安宁疗护 临终关怀 舒缓疗护 缓和医疗",
       "晚期 临终 最后一程 放弃治疗 时日无多 姑息"),
    _p("health.family_planning_special", "计划生育特殊家庭扶助", _W, "elderly_care", 20,
       "独生子女死亡或伤残、未再生育或收养子女、女方年满49周岁的夫妻",
       "身份证 户口簿 独生子女证 子女死亡或残疾证明",
       "计生特殊家庭 失独 特别扶助金",
       "独生子女去世 独生子女死亡 独生子女伤残 唯一的孩子去世 独生儿子去世 独生女去世"),
    _p("health.mental_health", "心理援助与严重精神障碍患者救治", _W, "counselling", 5,
       "有心理危机或患严重精神障碍的居民及其监护人",
       "身份证 病历（如有）",
       "心理援助 精神卫生 心理援助热线",
       "精神病 精神障碍 精神分裂 发病打人 打人毁物 抑郁症 躁狂 服药不规律"),
    # --- 教育 education ---
    _p("education.education_assistance", "教育救助", _W, "education", 20,
       "低保、特困、低收入家庭在学阶段的学生",
       "学生身份证 学籍证明 困难身份证明",
       "教育救助",
       "低保户 低保家庭 特困 学费 学费…交不起 交不起…学费 上不起学 辍学"),
    _p("education.student_aid", "学生资助（国家助学金、免学费、助学贷款）", _W, "education", 30,
       "家庭经济困难的在读学生（学前至研究生）",
       "学生证或录取通知书 家庭经济困难认定表",
       "助学金 国家助学金 助学贷款 学生资助 免学费 生源地信用助学贷款",
       "学费 学费…交不起 交不起…学费 家庭经济困难学生 考上…大学 录取通知书 读高中"),
    _p("education.school_admission", "积分入学（来莞人员随迁子女入学）", _W, "education", 20,
       "在莞合法稳定就业居住的非户籍人员的适龄子女",
       "居住证 社保缴费记录 户口簿 出生证明",
       "积分入学 积分制入学 随迁子女",
       "学位 公办学校 公办学位 积分 来莞 务工人员 非户籍 外地户口 报名入学"),
    # --- 住建 housing and urban-rural development ---
    _p("housing.housing_assistance", "住房救助", _W, "housing", 30,
       "住房困难的低保、特困、低收入家庭，以公租房实物配租、租赁补贴或危房改造救助",
       "身份证 户口簿 住房情况证明 困难身份证明",
       "住房救助 租赁补贴 住房保障",
       "危房 住房困难 没地方住 房子破旧 房子倒了 住不起 无房"),
    _p("housing.public_rental", "公共租赁住房", _W, "housing", 40,
       "本市住房困难的低收入家庭、新就业无房职工和符合条件的来莞人员",
       "身份证 户口簿或居住证 收入证明 无房证明",
       "公租房 廉租房 保障性住房 保障房",
       "交不起房租 房租…交不起 租金太贵 房租太贵 租不起 住房困难 一家…挤在"),
    _p("housing.old_community", "城镇老旧小区改造", _P, "housing_repair", 20,
       "2000年底前建成、失养失修、配套不全的城镇老旧小区，居民改造意愿强",
       "小区基本情况 居民意愿征询结果",
       "老旧小区改造 旧改 加装电梯",
       "老旧小区 楼龄 管网老化 楼道破旧 外墙 没有电梯"),
    # --- 残联 disabled persons' federation ---
    _p("disabled_persons.assistive_devices", "残疾人辅助器具适配补贴", _W, "medical", 20,
       "持证残疾人及有需求的失能老人，按评估结果适配辅具",
       "身份证 残疾人证 辅具评估表",
       "辅助器具 辅具 辅具适配",
       "轮椅 助听器 假肢 拐杖 助行器 坐便椅 盲杖 护理床"),
    _p("disabled_persons.rehabilitation", "残疾儿童康复救助", _W, "medical", 20,
       "0-14周岁视力、听力、言语、肢体、智力残疾儿童和孤独症儿童",
       "儿童户口簿 诊断证明 残疾人证（如有）",
       "康复救助 残疾儿童康复",
       "自闭症 孤独症 脑瘫 听力障碍 智力障碍 发育迟缓 康复训练 语言障碍"),
    # --- 司法 justice ---
    _p("justice.legal_aid", "法律援助", _W, "rights", 7,
       "经济困难或属特定情形（追索劳动报酬、工伤赔偿等）的当事人",
       "身份证 经济困难申报 案件材料",
       "法律援助 法援 免费律师",
       "打官司 请不起律师 请律师 起诉 被起诉 法院 工伤赔偿 交通事故赔偿 追讨工资"),
    _p("justice.mediation", "人民调解", _W, "rights", 15,
       "邻里、婚姻家庭、赡养、土地等民间纠纷的当事人",
       "身份证 纠纷情况说明",
       "人民调解 调解委员会 调解",
       "邻里纠纷 纠纷 家庭矛盾 赡养纠纷 土地纠纷 闹矛盾 子女不赡养"),
    # --- 退役军人 veterans ---
    _p("veterans.preferential_care", "优抚对象抚恤补助与困难帮扶", _W, "living", 20,
       "伤残军人、烈属、在乡复员退伍军人等优抚对象及生活困难的退役军人",
       "身份证 优待证或退伍证 困难情况说明",
       "优抚 抚恤 优抚对象 伤残军人 烈属 军烈属 退役军人",
       "当过兵 参过军 退伍 复员 参战 老兵 烈士"),
    # --- 妇联 women's federation ---
    _p("women.rights", "妇女儿童维权（反家庭暴力）", _W, "rights", 5,
       "遭受家庭暴力、性侵害、拐卖等侵害的妇女儿童",
       "身份证 报警回执或伤情照片（如有）",
       "妇联 反家暴 妇女维权 人身安全保护令",
       "家暴 家庭暴力 被老公打 丈夫打 老公打 虐待 性骚扰 拐卖 抚养权"),
    _p("women.two_cancers", "困难妇女“两癌”救助", _W, "medical", 20,
       "患乳腺癌或宫颈癌的低收入妇女",
       "身份证 病理诊断证明 困难证明",
       "两癌救助 两癌",
       "乳腺癌 宫颈癌 乳腺肿瘤 收入很低 收入低 家庭困难"),
    # --- 共青团 youth league ---
    _p("youth.counselling_12355", "青少年服务台（12355）心理与权益服务", _W, "counselling", 5,
       "有心理困扰或权益受侵害的青少年及其家长",
       "无需材料",
       "12355 青少年服务台",
       "青少年 叛逆 厌学 网瘾 沉迷手机 沉迷游戏 校园欺凌 被欺负 早恋 离家出走"),
    # --- 总工会 trade union ---
    _p("trade_union.hardship_workers", "困难职工帮扶", _W, "living", 15,
       "工会会员中因病、因灾、因子女上学等致家庭生活困难的职工",
       "身份证 工会会员证明 困难情况证明",
       "困难职工 工会帮扶 送温暖",
       "职工 工会会员 工友 厂里上班 企业职工 在工厂打工"),
    _p("trade_union.golden_autumn", "金秋助学", _W, "education", 20,
       "困难职工家庭当年考入大学的子女",
       "录取通知书 职工身份证 困难职工证明",
       "金秋助学",
       "职工子女 工友的孩子 考上…大学 录取通知书 大学学费"),
    # --- micro-project policies: group-interest matters a department already handles ---
    _p("urban_management.illegal_construction", "违法建设与占道经营整治", _P, "environment", 15,
       "存在违法搭建、占道经营、乱摆卖等影响公共环境的区域",
       "现场照片 位置",
       "违建 违法建设 违章建筑 两违",
       "违章搭建 乱搭建 私搭乱建 占道经营 乱摆卖 占用消防通道"),
    _p("ecology.pollution", "环境污染投诉处理", _P, "environment", 15,
       "受企业排污、废气、噪声等环境污染影响的居民",
       "现场照片或视频 时间 位置",
       "环境污染 偷排 超标排放",
       "排污 废气 废水 刺鼻 异味 工厂排放 黑烟 粉尘 噪音扰民 夜间施工"),
    _p("agriculture.agri_insurance", "政策性农业保险与农业灾后恢复", _W, "living", 15,
       "种植、养殖农户因自然灾害造成农业生产损失",
       "身份证 投保凭证 受灾照片",
       "农业保险 政策性农业保险",
       "鱼塘 荔枝 农作物 种植 养殖 菜地 果树 大棚 香蕉"),
    _p("emergency.disaster_relief", "受灾人员救助", _W, "living", 5,
       "因台风、暴雨、洪涝等自然灾害造成基本生活困难或房屋倒损的人员",
       "身份证 受灾情况照片 村（社区）证明",
       "受灾人员救助 灾民救助 过渡期生活救助 倒损民房",
       "受灾 台风 暴雨 洪水 水灾 被淹 冲毁 龙卷风 房屋倒塌"),
    _p("natural_resources.geohazard", "地质灾害隐患排查治理", _P, "facility", 10,
       "受滑坡、崩塌、地面塌陷等地质灾害隐患威胁的居民点",
       "现场照片 位置",
       "地质灾害 地灾隐患",
       "山体滑坡 滑坡 崩塌 山体开裂 边坡 挡土墙 泥石流 地面塌陷 地裂缝"),
)
# fmt: on

POLICIES_BY_CODE: dict[str, Policy] = {p.code: p for p in POLICIES}


@dataclass(frozen=True)
class Catalogue:
    """One version of the catalogue as triage reads it (the database keeps every version)."""

    version: str
    policies: tuple[Policy, ...]

    def get(self, code: str) -> Policy | None:
        """The policy with this code, or None."""
        return next((p for p in self.policies if p.code == code), None)


SEED_CATALOGUE = Catalogue(CATALOGUE_VERSION, POLICIES)
"""The catalogue as shipped: the database's first version is seeded from it."""
