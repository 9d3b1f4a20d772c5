//! The cue phrases, in the order of precedence that keeps urgency safe: a present danger always
//! decides; an idea, or thanks for something past, is never an emergency; a planned outage or a
//! danger told as history is ordinary. Each urgency cue also names the category it points to.

use crate::{Category, Reason, Urgency};
use Category::*;

/// Life or safety at risk now.
const CRITICAL: &[(Category, &[&str])] = &[
    (Safety, &[
        "煤气味", "天然气味", "燃气味", "燃气的味", "煤气的味", "天然气的味", "燃气味道", "煤气味道", "闻到燃气", "闻到煤气", "闻到天然气",
        "煤气泄漏", "燃气泄漏", "天然气泄漏", "泄漏", "漏气", "嘶嘶", "滋滋", "臭鸡蛋味", "燃气报警", "煤气报警", "报警器一直响", "报警器在响",
        "着火", "起火", "失火", "火灾", "冒烟", "浓烟", "有烟", "烟冒", "冒出烟", "焦味", "烧焦", "烧起来", "着起来", "突然着了", "油锅着",
        "火苗", "明火", "火挺大", "火很大", "爆炸", "一氧化碳", "煤气中毒", "中毒", "火花", "打火花", "火星", "焦糊", "电线断", "刮断", "耷拉",
        "触电", "电到人", "被电", "电线掉", "电线垂", "线露着", "铜线", "裸露的电线", "电线裸露", "高压线",
        "打架", "流血", "流了好多血", "头破", "持刀", "拿刀", "拿着刀", "砍人", "弄死", "要杀", "杀人", "跳楼", "轻生", "自杀", "打人了", "家暴", "砸门",
        "孩子不见", "小孩不见", "一转眼", "孩子找不到", "小孩找不到", "找不到了", "没回家",
        "smell of gas", "gas smell", "smells of gas", "smell gas", "gas leak", "leaking gas", "gas alarm", "on fire", "fire in", "a fire",
        "smoke", "burning", "electric shock", "sparking", "sparks", "exposed wire", "live wire", "carbon monoxide", "knife", "threatening",
        "missing child", "child is missing", "can't find him", "can't find her", "didn't come home",
    ]),
    (Care, &[
        "摔倒", "跌倒", "摔了,", "摔了一跤", "跌了一跤", "磕破", "求救", "嘴歪", "说不清", "好久没动", "没动静", "喊他也不", "也不应", "喊了没反应", "报纸堆", "人不见了", "滑了一跤", "起不了身", "骨折", "腿好像断", "滑倒", "倒在地上", "倒地", "起不来", "爬不起来", "晕倒", "昏倒", "昏迷", "不省人事",
        "没有反应", "人没反应", "叫他没反应", "喊他没反应", "都没反应", "叫不醒", "没气了", "没有呼吸", "呼吸困难", "喘不上气", "心脏病发", "犯心脏病", "心脏病犯", "中风", "大出血", "救命",
        "敲门没人应", "一直没人应", "没人应门", "没露面", "敲门没有人应", "敲门没反应", "敲门也没人", "没人开门", "好几天没见", "好几天没看到", "好几天没出门", "几天没见", "没动静",
        "电话一直不接", "电话也不接", "电话没人接", "失联", "没回来", "说不出话", "只喘气", "含糊不清", "歪了", "抬不起来", "sos", "手环报警", "一键呼叫", "老人不见", "老人走丢", "走失", "走丢",
        "fallen", "fell", "collapsed", "unconscious", "not responding", "unresponsive", "can't breathe", "cannot breathe", "can't get up",
        "hasn't answered", "hasn't picked up", "not picked up", "not answering", "haven't seen her", "haven't seen him",
    ]),
    (Municipal, &["掉进", "fell into"]),
    (Repair, &[
        "困在电梯", "电梯困人", "困人", "被困", "困住", "关在电梯", "卡在电梯", "电梯里出不来", "关在里面", "关着", "里面有人", "里面有个", "里面有两", "人出不来",
        "trapped", "stuck in the lift", "stuck in the elevator", "stuck inside", "stuck in lift", "someone is stuck",
    ]),
];

/// Water and electricity together are critical.
const WATER: &[&str] = &["水", "water", "flood"];
const ELECTRIC: &[&str] = &["电箱", "电表箱", "配电", "插座", "电线", "电闸", "电表", "变压器", "electric", "socket", "fuse box", "transformer"];

/// Serious disruption that must be handled today.
const URGENT: &[(Category, &[&str])] = &[
    (Repair, &[
        "爆管", "水管爆", "管子爆", "水管裂", "爆了", "爆裂", "喷水", "水漫", "淹了", "淹水", "进水了", "漏得厉害", "泡了", "往下淌", "溢水",
        "水越来越多", "滴得越来越", "一滴都", "一滴水", "停水", "没水", "没有水", "断水", "停电", "没电", "没有电", "断电", "全楼没", "整栋楼没", "整栋楼都没", "整个单元没",
        "门锁坏", "门锁坏了", "门禁坏", "门禁失灵", "单元门坏", "进不去", "锁不上", "门关不上", "打不开门", "卡住了", "出不去",
        "反水", "返水", "往上反", "地漏反", "满地都是", "漫水", "掉下来", "要掉", "快掉", "摇摇欲坠", "玻璃松", "窗户松", "窗框松", "框松", "风一吹", "锈断", "挂在那", "外机松", "外机晃", "悬着", "高空坠物", "坠落", "塌", "掉了好几块",
        "电梯停", "电梯坏", "电梯不动", "停着", "下不来",
        "burst", "flooding", "flooded", "no water", "no power", "power cut", "power outage", "outage", "power has been out", "power is out",
        "no electricity", "power's out", "breaker", "lock is broken", "lock broken", "can't get in", "cannot get in", "won't lock", "won't close", "about to fall",
        "lift is broken", "elevator is broken", "lift broken", "elevator broken", "pouring",
    ]),
    (Municipal, &[
        "井盖丢", "井盖没了", "井盖被偷", "没盖井盖", "井盖坏", "井盖塌", "井盖翘", "没有井盖", "井盖不见", "井盖破", "盖板被", "大洞",
        "没有围挡", "没围挡", "在涨", "到小腿", "到膝盖", "深沟", "也不盖", "不围", "深坑", "敞着", "撬走", "黑咕隆咚", "漫上", "漫过", "栽进", "淹到", "喷泉", "主管破", "水管破", "整条街", "冒水", "雨水井", "篦子丢", "盖子丢", "卡进去", "井盖碎", "盖碎", "崴脚", "倒灌", "漫进", "积水很深", "没过", "越来越深", "刮倒", "快倒", "横在路",
        "manhole", "sinkhole", "tree down", "fallen tree",
    ]),
    (Sanitation, &["往外溢", "往外冒", "脏水", "污水井", "堆成山", "没人收", "污水外溢", "污水流", "漫到", "冒污水", "粪水", "化粪池", "溢出来", "漫出来", "针头", "sewage"]),
    (Safety, &[
        "让我转账", "要我转账", "叫我转账", "转账", "转钱", "安全账户", "还没挂", "汇款", "汇钱", "转走", "atm", "frozen", "打钱", "手术费", "高空抛物", "砸在", "砸到", "验证码", "冒充", "自称", "被骗了", "转了", "转完", "汽油", "锁死", "拧门", "挨家挨户", "咬伤", "撬开",
        "transfer money", "scam call", "needs money", "send money", "gift card", "chained shut", "locked shut", "bitten",
    ]),
    (Care, &["拉肚子", "拉了一整天", "连口热水", "发高烧", "高烧", "发烧", "烧到", "39度", "三十九度", "没人给", "今天没人", "取暖器坏", "冰凉", "这么冷", "去医院", "冻得", "零下", "没法取暖", "不能取暖", "没暖气", "暖气坏", "暖气不热", "头晕得厉害", "透析", "heating is broken", "no heating", "freezing"]),
    (Living, &["没有吃的", "没吃的", "没东西吃", "胰岛素", "药吃完", "今天吃完", "用完了", "退烧药", "no food"]),
    (Dispute, &["打起来", "推搡", "推推搡搡", "动手了", "往我家流", "流到我家", "敲门就是不开", "往我家灌", "不开门", "往下流", "淌水", "门都不开", "不肯关", "won't open the door"]),
];

/// Words that make a report due today whatever it is about.
const TODAY: &[&str] = &["今天必须", "今天一定", "今天之内", "今天得", "今天要", "今晚怎么过", "must today", "today"];

/// Proposals and ideas: low whatever they mention.
const SUGGESTION: &[&str] = &[
    "建议", "提议", "提个意见", "提意见", "意见", "增设", "最好能", "要是能", "如果能",
    "多修几", "多建", "多开几", "多设", "可以考虑", "考虑一下", "就好了",
    "suggest", "suggestion", "would be nice", "would be great", "please consider", "it would help", "could you add", "idea",
];

/// Wishes and questions that are ideas only when nothing is broken.
const WISH: &[&str] = &[
    "希望", "能不能", "可不可以", "能否", "可否", "我觉得", "应该", "加个", "多装", "多放", "多安排", "多组织", "多办",
    "hope", "wish", "could we", "can we have", "could the", "add more", "maybe add", "maybe we", "should", "i think",
];

/// Words that say something is wrong now, so a wish is a request to fix it.
/// Words that say something is wrong now, or ask for a service, so a wish is a request.
const DEFECT: &[&str] = &[
    "坏", "漏", "堵", "不亮", "破", "太多", "太吵", "太脏", "臭", "尽快", "赶紧", "快点", "修", "没人管", "乱", "不通", "丢了", "老是", "总是",
    "帮忙", "帮我", "帮一下", "看看", "上门看", "申请", "给我家", "不方便", "不便", "胸闷", "不舒服", "熏黑", "重新刷", "多得", "不得了",
    "清一下", "堆了", "不好用", "不灵", "不脱水", "不工作", "不行了", "派人", "陪一下", "介绍", "成灾", "喷点药", "喷药", "消杀",
    "找个", "推一下", "志愿者",
    // A question asks for information, not for a change.
    "想问", "请问", "问一下", "咨询", "吗",
    "broken", "leak", "asap", "help me", "help my",
];

/// Praise: low whatever it mentions, unless something is wrong now.
const PRAISE: &[&str] = &[
    "表扬", "点赞", "点个赞", "好评", "辛苦了", "锦旗", "赞一个", "太好了", "满意", "办得好", "很开心", "特别感谢", "非常感谢", "十分感谢",
    "great job", "well done", "appreciate", "grateful",
];

/// Thanks, which is often just politeness at the end of a request.
const THANKS: &[&str] = &["谢谢", "感谢", "感激", "多谢", "thank"];

/// Words that say it happened before, or is over.
const PAST: &[&str] = &[
    "上次", "上回", "以前", "之前", "去年", "上个月", "上周", "前两天", "前几天", "曾经", "那次", "前段时间", "已经扑灭", "已经灭了",
    "看过了", "没有漏", "已经处理", "修好了", "解决了", "找到了", "办好了", "追回", "last time", "last year", "last month", "last week", "before",
];

/// Words that say it is happening now.
const NOW: &[&str] = &["快来", "马上", "紧急", "正在", "赶紧", "救命", "还在", "急死", "很急", "着急", "!!", "right now", "urgent", "help!", "please help"];

/// Phrases that contain a cue but mean something harmless; removed before matching.
const HARMLESS: &[&str] = &[
    "打不着火", "点不着火", "不着火", "打火机", "万一着火", "如果着火", "万一", "防跌倒", "防摔", "防滑", "almost fell", "in case of fire", "要停水", "要停电", "又要停", "电池没电", "嘀一声", "吱一声", "应该是没电", "好像没电", "手环没电", "怎么充", "检修", "紧急呼叫", "一键呼叫", "猫跑丢", "狗跑丢", "planned", "火锅", "火车", "烟花", "抽烟", "烟头", "烟雾报警", "烟感", "报警器没电", "换电池", "睡着",
    "泰迪走丢", "狗走丢", "猫走丢", "狗狗走丢", "宠物走丢", "狗丢了", "猫丢了", "停水通知", "停电通知", "明天停", "计划停", "预计停",
    "no smell of gas", "won't light", "smoke alarm", "smoke detector", "fell off",
];

fn find<'a>(text: &str, cues: &'a [&'a str]) -> Vec<&'a str> {
    let mut found: Vec<&str> = cues.iter().copied().filter(|c| text.contains(c)).collect();
    // Keep the longest phrases: "煤气泄漏" rather than also "泄漏".
    found.sort_by_key(|c| std::cmp::Reverse(c.chars().count()));
    let mut kept: Vec<&str> = Vec::new();
    for c in found {
        if !kept.iter().any(|k| k.contains(c)) {
            kept.push(c);
        }
    }
    kept
}

fn find_grouped(text: &str, groups: &'static [(Category, &'static [&'static str])]) -> Vec<(Category, &'static str)> {
    groups.iter().flat_map(|(cat, cues)| find(text, cues).into_iter().map(move |c| (*cat, c))).collect()
}

/// An alarm that beeps for its battery is a repair, not an emergency.
const BATTERY: &[&str] = &["没电", "电池", "battery"];
const ALARMS: &[&str] = &["燃气报警器", "煤气报警器", "烟雾报警器", "报警器", "gas alarm", "smoke alarm", "alarm"];

/// Removes the harmless phrases.
pub fn defuse(norm: &str) -> String {
    let mut text = norm.to_string();
    for h in HARMLESS {
        text = text.replace(h, " ");
    }
    if BATTERY.iter().any(|b| text.contains(b)) {
        for a in ALARMS {
            text = text.replace(a, " 报警装置 ");
        }
    }
    text
}

/// What decided the urgency.
pub struct UrgencyDecision {
    /// The urgency.
    pub urgency: Urgency,
    /// The cues, as reasons.
    pub reasons: Vec<Reason>,
    /// The categories the deciding cues point to.
    pub hints: Vec<Category>,
}

fn decided(urgency: Urgency, cues: &[(Category, &str)]) -> UrgencyDecision {
    UrgencyDecision {
        urgency,
        reasons: cues.iter().take(3).map(|(_, c)| Reason { phrase: c.to_string(), supports: format!("urgency:{}", urgency.code()) }).collect(),
        hints: cues.iter().map(|(cat, _)| *cat).collect(),
    }
}

/// The urgency of a normalised text, with the cues that decided it.
pub fn urgency(norm: &str) -> UrgencyDecision {
    let text = defuse(norm);
    let now = !find(&text, NOW).is_empty();
    let past = !find(&text, PAST).is_empty();
    let praise = find(&text, PRAISE);
    let thanks = find(&text, THANKS);
    let suggestion = find(&text, SUGGESTION);
    let defect = !find(&text, DEFECT).is_empty();
    let wish = if defect { Vec::new() } else { find(&text, WISH) };

    let mut critical = find_grouped(&text, CRITICAL);
    if !find(&text, WATER).is_empty() {
        if let Some(e) = find(&text, ELECTRIC).first() {
            let outdoors = ["变压器", "路边", "马路", "路上", "transformer", "street"].iter().any(|w| text.contains(w));
            critical.push((if outdoors { Municipal } else { Repair }, e));
        }
    }
    // A gas word and a smell word anywhere in the report ("厨房味道怪怪的,像是天然气").
    let gas = ["煤气", "燃气", "天然气", "gas"].into_iter().find(|g| text.contains(g));
    let smell = ["味", "闻", "smell"].iter().any(|w| text.contains(w));
    if let (Some(g), true) = (gas, smell) {
        if critical.iter().all(|(c, _)| *c != Safety) {
            critical.push((Safety, g));
        }
    }
    let mut urgent = find_grouped(&text, URGENT);
    if let Some(t) = find(&text, TODAY).first() {
        urgent.push((Living, t));
    }

    // An idea, praise, or thanks for something over is not an emergency whatever it mentions.
    let idea = !suggestion.is_empty() || !wish.is_empty() || !praise.is_empty();
    if (idea || (!thanks.is_empty() && past)) && !now {
        let cue = suggestion.first().or(wish.first()).or(praise.first()).or(thanks.first()).copied().unwrap_or_default();
        return decided(Urgency::Low, &[(Suggestion, cue)]);
    }
    // A danger told as history is ordinary unless the report says it is happening now.
    let current = !past || now;
    if !critical.is_empty() && current {
        return decided(Urgency::Critical, &critical);
    }
    if !urgent.is_empty() && current {
        return decided(Urgency::Urgent, &urgent);
    }
    // Thanks opening a message is gratitude; thanks closing a request is politeness.
    let opens_with_thanks = THANKS.iter().any(|t| text.trim_start().starts_with(t));
    if opens_with_thanks && critical.is_empty() && urgent.is_empty() {
        return decided(Urgency::Low, &[(Suggestion, thanks.first().copied().unwrap_or_default())]);
    }
    UrgencyDecision { urgency: Urgency::Normal, reasons: Vec::new(), hints: Vec::new() }
}

/// `(category, weight, phrases)`: strong domain words weigh more than general ones.
const CATEGORY: &[(Category, f64, &[&str])] = &[
    (Repair, 2.0, &["楼道灯", "声控灯", "感应灯", "灯泡", "灯不亮", "灯坏", "单元门", "防盗门", "防盗窗", "门锁", "门禁", "对讲", "门铃",
        "水管", "水龙头", "漏水", "渗水", "滴水", "墙皮", "脱落", "屋顶", "天花板", "楼顶", "防水", "窗户", "纱窗", "玻璃", "电梯", "扶手",
        "信箱", "燃气灶", "热水器", "马桶", "地漏", "厨房下水", "卫生间", "下水管", "滴滴响", "换电池", "阀门", "熏得", "熏黑",
        "水箱", "水泵", "水压", "晾衣", "开裂", "裂缝", "瓷砖", "外墙", "卷帘门", "车库", "暖气管", "刷一下", "粉刷", "健身器材坏", "长椅",
        "light", "lamp", "bulb", "door", "lock", "pipe", "tap", "faucet", "leak", "ceiling", "window", "lift", "elevator", "stove", "roof"]),
    // General words for "fix it" that say little about what is broken.
    (Repair, 0.8, &["维修", "报修", "修一下", "修理", "坏了", "断了", "破了", "换一个", "repair", "broken", "fix"]),
    (Municipal, 2.5, &["路灯", "马路", "道路", "路面", "坑洼", "井盖", "窨井", "雨水", "排水", "积水", "人行道", "公交站", "红绿灯", "信号灯",
        "斑马线", "盲道", "桥", "市政", "路口", "围挡", "占道", "下水道", "倒灌", "树倒", "树枝", "大树", "街上", "路边", "路中间", "施工", "路灯杆", "变压器",
        "street light", "streetlight", "road", "pothole", "manhole", "drain", "pavement", "sidewalk", "bus stop", "traffic", "street", "tree"]),
    (Sanitation, 3.0, &["老鼠", "蟑螂", "蚊子", "苍蝇", "白蚁", "虫子", "rats", "cockroach", "mosquito"]),
    (Sanitation, 2.0, &["垃圾", "垃圾桶", "垃圾分类", "臭", "异味", "杂草", "落叶", "狗屎", "狗粪", "粪便",
        "卫生", "脏", "清扫", "小广告", "化粪池", "污水", "粪水", "堆满", "清运", "草坪", "塑料袋", "漂着", "泡沫", "针头", "打药", "消杀",
        "rubbish", "garbage", "trash", "litter", "bin", "bins", "smell", "stink", "weeds", "rats", "rat", "cockroach", "dog poo", "dirty", "sewage", "mosquito"]),
    (Safety, 2.5, &["煤气", "燃气", "天然气", "着火", "起火", "火灾", "冒烟", "浓烟", "烧起来", "火挺大", "消防", "灭火器", "消防通道", "安全出口",
        "电瓶车", "电动车", "充电", "飞线", "私拉电线", "诈骗", "骗子", "被骗", "骗", "转账", "冒充", "中奖", "保健品", "治百病", "陌生人",
        "可疑", "转悠", "不像住户", "链接", "link", "是不是骗", "小偷", "偷", "撬", "监控", "隐患", "高空抛物", "触电", "漏电", "电线", "铜线", "一氧化碳", "打人", "刀", "砍", "弄死",
        "威胁", "汽油", "易燃", "杂物", "一点火", "大狗", "咬伤", "咬人", "孩子不见", "小孩不见", "找不到了", "没回家",
        "gas", "fire", "smoke", "scam", "fraud", "stranger", "suspicious", "theft", "stolen", "burglar", "e-bike", "charging", "fire exit",
        "unsafe", "danger", "knife", "threatening", "wire", "chained"]),
    (Living, 2.0, &["买菜", "菜价", "代买", "买药", "送药", "取药", "代取", "配药", "跑腿", "送餐", "助餐", "吃饭", "家政", "钟点工", "上门保洁",
        "上门理发", "做保洁", "保洁", "跑一趟", "拎不动", "送菜", "溜出去", "top up", "electricity card", "cat", "collar", "dog", "poodle", "理发", "剪头发", "取个药", "油烟机", "上门清洗", "清洗", "跑丢", "猫", "狗狗", "快递", "外卖", "搬家", "换煤气罐", "家电", "电饭煲", "冰箱", "洗衣机", "电视", "宽带", "上门服务", "团购", "便民",
        "送饭", "送个饭", "蔬菜", "超市", "缴费", "代缴", "水电费", "充值", "没有吃的", "吃的", "寻狗", "寻猫",
        "groceries", "grocery", "vegetables", "shopping", "medicine", "errand", "delivery", "meal", "haircut", "cleaning", "parcel",
        "appliance", "washing machine", "food"]),
    (Care, 2.0, &["摔过", "中过风", "家庭医生", "胸闷", "坡道", "扶手", "适老化", "防滑", "智能手环", "老人", "老年人", "独居", "空巢", "孤寡", "大爷", "大妈", "奶奶", "爷爷", "老太太", "老大爷", "老伴", "摔倒", "跌倒", "晕倒",
        "手环", "探访", "上门看看", "残疾", "听障", "手语", "轮椅", "失能", "卧床", "瘫痪", "看护", "陪护", "体检", "血压", "降压药", "慢性病",
        "敲门没人", "没人应", "好几天没", "没动静", "电话不接", "不接电话", "电话一直不接", "老母亲", "老父亲", "行动不便", "养老", "透析", "sos",
        "elderly", "old man", "old lady", "old woman", "grandma", "grandpa", "grandmother", "grandfather", "lives alone", "living alone",
        "fallen", "fell", "wheelchair", "disabled", "wristband", "check on", "heating"]),
    (Dispute, 0.8, &["楼上", "楼下", "upstairs"]),
    (Dispute, 2.5, &["邻居", "楼上的", "楼下的", "对门", "隔壁", "对面楼", "吵", "噪音", "吵架", "纠纷", "矛盾", "装修", "狗叫", "占用", "占车位",
        "停车位", "车位", "私占", "不让", "不肯", "拒绝", "协商", "调解", "扯皮", "骂", "不管", "就是不修", "不修", "不肯修", "说了好几次", "不听", "跟他说", "不关他", "不开", "不承认", "不开门", "激光笔", "推搡",
        "neighbour", "neighbor", "noise", "noisy", "loud", "argue", "argument", "dispute", "parking space", "barking", "refuses"]),
    (Consult, 2.5, &["怎么办理", "如何办理", "办理", "咨询", "请问", "问一下", "想问", "政策", "补贴", "居住证明", "居住证", "社保", "医保",
        "报销", "老年证", "户口", "户籍", "落户", "租房备案", "备案", "证明", "材料", "需要带", "流程", "低保申请", "残疾证", "养老金",
        "退休", "手续", "申请", "怎么弄", "哪里办", "资格", "办什么", "要办", "会不会", "罚款", "在哪里交", "哪里交", "怎么交", "网上能",
        "什么时候结束", "几点到几点", "通知", "上班时间", "办公时间", "上牌", "开门吗", "上班吗", "几点", "检修", "停多久", "都停吗", "planned", "when is",
        "how do i", "how can i", "how to apply", "certificate", "residence permit", "social insurance", "medical insurance", "reimbursement",
        "subsidy", "policy", "registration", "documents", "where can i", "apply", "what time", "office hours"]),
    (Suggestion, 2.0, &["建议", "希望", "能不能增加", "可不可以", "提议", "意见", "增设", "增加", "多装", "感谢", "谢谢", "表扬", "点赞",
        "点个赞", "好评", "辛苦", "锦旗", "活动室", "应该规定", "没人回", "不回复", "没人理", "投诉", "没人回复", "已解决", "根本没", "登录不上", "app", "小程序", "提交不上", "没人接", "找不到人", "居委会电话", "一直没来", "说要来", "reported",
        "suggest", "suggestion", "would be nice", "please add", "thank", "thanks", "great job", "praise", "idea", "bench", "nobody has replied", "no reply", "no one replied"]),
];

/// The category cues found in a normalised text: `(category, phrase, weight)`.
pub fn category_cues(norm: &str) -> Vec<(Category, String, f64)> {
    let text = defuse(norm);
    let mut out = Vec::new();
    for (cat, weight, phrases) in CATEGORY {
        for p in find(&text, phrases) {
            // Longer phrases are more specific.
            let w = weight * (1.0 + 0.15 * (p.chars().count().min(6) as f64 - 1.0));
            out.push((*cat, p.to_string(), w));
        }
    }
    out
}

/// Urgency tells something about category too: an idea or thanks is a suggestion, an
/// emergency is not, and the cue that made a report urgent names its kind.
pub fn adjust_for_urgency(d: &UrgencyDecision, scores: &mut [f64; 9]) {
    let s = Suggestion.index();
    match d.urgency {
        Urgency::Low => scores[s] += 6.0,
        Urgency::Critical | Urgency::Urgent => scores[s] -= 4.0,
        Urgency::Normal => {}
    }
    if d.urgency >= Urgency::Urgent {
        for hint in &d.hints {
            scores[hint.index()] += 2.0;
        }
    }
}
