//! The cue phrases, in the order of precedence that keeps urgency safe: a present danger always
//! decides; an idea, or thanks for something past, is never an emergency; a planned outage or a
//! danger told as history is ordinary. Each urgency cue also names the category it points to.

use crate::{Category, Reason, Urgency};
use Category::*;

/// Life or safety at risk now.
const CRITICAL: &[(Category, &[&str])] = &[
    (Safety, &[
        "煤气味", "天然气味", "燃气味", "燃气的味", "煤气的味", "天然气的味", "燃气味道", "煤气味道", "闻到燃气", "闻到煤气", "闻到天然气",
        "煤气泄漏", "燃气泄漏", "天然气泄漏", "泄漏", "漏气", "嘶嘶", "臭鸡蛋味", "燃气报警", "煤气报警", "报警器一直响", "报警器在响",
        "着火", "起火", "失火", "火灾", "冒烟", "浓烟", "有烟", "烟冒", "冒出烟", "焦味", "烧焦", "烧起来", "着起来", "突然着了", "油锅着",
        "火苗", "明火", "冒火", "窜火", "蹿火", "火光", "燎着", "燎了", "烧着了", "着了火", "黑烟", "白烟", "青烟", "冒出火", "火挺大", "火很大", "爆炸", "一氧化碳", "煤气中毒", "烧炭", "炭盆", "煤炉", "中毒", "火花", "打火花", "火星", "焦糊", "电线断", "刮断", "耷拉",
        "触电", "电到人", "被电到", "被电了", "被电击", "被电打", "电线掉",
        "泼了汽油", "泼汽油", "浇了汽油", "浇汽油", "倒了汽油", "同归于尽", "放火", "纵火", "烧死", "炸死", "要烧了", "点了你家", "点了他家", "电线垂", "线露着", "铜线", "裸露的电线", "电线裸露", "高压线",
        "打架", "持刀", "拿刀", "拿着刀", "砍人", "弄死", "要杀", "杀人", "跳楼", "轻生", "自杀", "打人了", "家暴", "砸门",
        "孩子不见", "小孩不见", "一转眼", "孩子找不到", "小孩找不到", "人找不到了", "没回家",
        "在打人", "打老婆", "打孩子", "打女人", "殴打", "拳打脚踢", "爬到窗", "爬上窗", "爬出窗", "站在窗台", "hitting", "beating", "attacking", "punching", "stabbed", "fighting",
        "溺水", "落水", "掉河里", "掉水里", "掉湖里", "掉池塘", "掉进河", "掉进湖", "不想活", "想不开", "寻死", "割腕", "drowning", "kill myself", "suicide", "jump off",
        "smell of gas", "gas smell", "smells of gas", "smell gas", "gas leak", "leaking gas", "gas alarm", "on fire", "fire in", "a fire",
        "smoke", "burning", "electric shock", "sparking", "sparks", "exposed wire", "live wire", "carbon monoxide", "knife", "threatening",
        "missing child", "child is missing", "flames", "blaze", "caught fire", "smell of burning", "burning smell",
        // English families, as broad as the Chinese ones.
        "burnt smell", "smells burnt", "smell of smoke", "smells like smoke", "smells of smoke", "scorch", "melting", "arcing",
        "smells like gas", "smell like gas", "smells of gas", "gas is leaking", "gas leaking", "leaking gas", "hissing", "rotten egg",
        "electrocuted", "got a shock", "getting shocks", "got shocked", "was shocked by", "shocked me", "shocked him", "shocked her", "a shock from", "gave me a shock", "gave him a shock", "gave her a shock",
        "kitchen fire", "house fire", "flat fire", "apartment fire", "electrical fire", "grease fire", "chip pan fire", "car fire", "bin fire", "building fire", "fire on ", "fire broke out", "set fire", "poured petrol", "poured gasoline", "petrol over", "gasoline over", "bare wire", "power line down", "power line is down", "downed line", "wire is down", "cable is down",
        "threatened", "threatens", "threatening to", "gun", "machete", "axe", "stabbing", "kill you", "kill me", "kill him", "kill her", "going to kill", "assault", "beat up", "beating up", "domestic violence",
        "child is gone", "kid is missing", "son is missing", "daughter is missing",
        // Threats and intent to harm, arson and accelerants (after round 10): told as a threat to
        // a home or a person, not only as a weapon in hand.
        "泼油", "泼了油", "浇油", "浇了油", "泼了一地油", "泼了一桶油", "泼了酒精", "浇了酒精", "放把火", "放一把火", "一把火烧", "烧了你", "烧了他", "烧了她", "烧了我家", "烧死你", "烧死他",
        "同归于尽", "扬言报复", "要报复", "说要报复", "报复你", "报复我", "报复他", "报复她", "砍死", "捅死", "要砍", "要捅", "要弄死", "弄死你", "弄死他", "弄死她", "弄死我", "杀了你", "杀了他", "杀了她", "杀了我", "杀你全家", "要你命", "要他命", "要她命",
        "不想活", "活不下去", "不活了", "活着没意思", "活着没劲", "不如死了", "寻短见", "想死", "遗书", "喝农药", "喝了农药", "喝了药", "吞了药", "吃了一瓶", "吃了一整瓶", "吃了好多安眠药", "安眠药", "上吊", "跳河", "站在楼顶", "站在天台", "天台边", "楼顶边",
        "will burn", "going to burn", "gonna burn", "burn down", "burn the house", "burn our", "burn your", "burn my", "set fire to", "set on fire", "doused", "poured oil", "poured fuel", "threatened to", "going to hurt", "gonna hurt", "will hurt", "going to stab", "gonna kill", "will kill", "kill us",
        "want to die", "wants to die", "end his life", "end her life", "end my life", "end it all", "hurt himself", "hurt herself", "hurting himself", "hurting herself", "cutting herself", "cutting himself", "took a lot of pills", "took all her pills", "took all his pills", "going to jump", "threatening to jump", "on the ledge", "on the roof edge",
        // Fire seen rather than named.
        "一片红光", "红光冲天", "映红", "火光冲天", "还在烧", "正在烧", "一直在烧", "烧得很旺", "烧得好旺", "越烧越", "red glow", "orange glow", "glow of a fire", "still burning",
        // Someone heard in danger.
        "惨叫", "喊救命", "撕心裂肺", "screaming for", "screams for help", "heard a scream", "heard screaming",
    ]),
    (Care, &[
        "摔倒", "跌倒", "摔了,", "摔了一跤", "跌了一跤", "磕破", "求救", "嘴歪", "话说不清", "话都说不清", "话也说不清", "口齿不清", "好久没动", "没动静", "喊他也不", "也不应", "喊了没反应", "报纸堆", "人不见了", "滑了一跤", "起不了身", "腿好像断", "滑倒", "倒在地上", "倒地", "起不来", "爬不起来", "晕倒", "昏倒", "昏迷", "不省人事",
        "没有反应", "人没反应", "叫他没反应", "喊他没反应", "都没反应", "叫不醒", "喊不醒", "摇不醒", "拍不醒", "弄不醒", "叫不应", "喊不应", "不省人事", "口吐白沫", "抽搐", "翻白眼", "休克", "没呼吸", "没心跳", "迷迷糊糊", "滚下来", "摔下来", "跌下来",
        "流血", "流了好多血", "出了好多血", "满头是血", "满脸是血", "一地血", "血流不止", "头破", "呼救", "救救",
        "未应门", "没应门", "不应门", "无人应门", "无人应答", "没人答应", "没气了", "没有呼吸", "呼吸困难", "喘不上气", "心脏病发", "犯心脏病", "心脏病犯", "憋紫", "嘴都紫", "嘴唇都紫", "脸都紫", "嘴发紫", "嘴唇紫", "抽过去", "背过气", "晕厥", "厥过去", "半边身子", "半身不能动", "身子不能动", "含含糊糊", "嘴唇发紫", "脸发紫", "噎住", "卡住了喉咙", "卡在喉咙", "卡嗓子", "choking", "choked", "中风", "大出血", "救命",
        "敲门没人应", "一直没人应", "没人应门", "没露面", "敲门没有人应", "敲门没反应", "敲门也没人", "没人开门", "好几天没见", "好几天没看到", "好几天没出门", "几天没见", "没动静",
        "失联", "没回来", "说不出话", "只喘气", "含糊不清", "嘴歪", "嘴也歪", "嘴角歪", "抬不起来", "sos", "手环报警", "一键呼叫", "老人不见", "老人走丢", "走失", "走丢",
        "fallen", "fell", "collapsed", "unconscious", "not responding", "unresponsive", "can't breathe", "cannot breathe", "can't get up",
        "hasn't answered", "hasn't picked up", "not picked up", "not answering", "haven't seen her", "haven't seen him",
        "won't wake", "can't wake", "cannot wake", "not waking", "bleeding", "head injury", "hit his head", "hit her head", "not breathing", "no pulse",
        "help me!", "help us!", "screaming for help", "calling for help", "crying for help", "shouting for help", "no answer at",
        "passed out", "fainted", "blacked out", "isn't breathing", "stopped breathing", "not conscious", "having a seizure", "seizure", "heart attack", "a stroke", "overdose",
        "fell down", "has fallen", "took a fall", "had a fall", "on the floor and", "lying on the floor", "can't move", "cannot move", "hit her head", "is bleeding", "lots of blood",
        "grandma is missing", "grandpa is missing", "mother is missing", "father is missing", "no one has seen", "nobody has seen",
    ]),
    (Municipal, &["fell into"]),
    (Repair, &[
        "困在电梯", "电梯困人", "困人", "被困", "困住", "关在电梯", "卡在电梯", "电梯里出不来", "关在里面", "关着", "里面有人", "里面有个", "里面有两", "人出不来",
        "trapped", "stuck in the lift", "stuck in the elevator", "stuck inside", "stuck in lift", "someone is stuck",
        "stuck in a lift", "stuck in an elevator", "stuck between floors", "locked in the lift", "shut in the lift", "can't get out of the lift",
    ]),
];

/// Electrical equipment that water or sparks make dangerous.
const ELECTRIC: &[&str] = &[
    "电箱", "电表箱", "配电", "插座", "插头", "插排", "插板", "插线板", "排插", "开关", "电线", "电缆", "线路", "电路", "电闸", "空开", "总闸", "电表", "电源", "变压器", "箱变", "电控箱", "电控柜", "控制箱", "控制柜", "电柜", "信号灯箱", "电房", "电井", "电缆井", "电缆沟", "灯杆", "灯柱", "充电器", "充电桩", "灯上", "灯里", "灯座", "灯罩", "灯泡里", "吸顶灯", "浴霸",
    "electrical", "electrics", "electric box", "electric meter", "socket", "outlet", "plug socket", "plugged in", "switchboard", "light switch", "switches", " fuse", "fusebox", "breaker", "consumer unit", "meter box", "meter cupboard", "electricity meter", "power meter", "wiring", "wire", "cable", "power strip", "extension lead", "extension cord", "junction box", "electrical panel", "electric panel", "breaker panel", "transformer", "substation", "switch room", "switchroom", "electrical room", "electric room", "meter room", "power room", "generator", "control box", "control cabinet", "electrical cabinet", "signal box", "lamp post", "lamppost", "light pole", "charger", "light fitting", "ceiling light", "light fixture",
];

/// Water reaching electricity (rule 5): water and electrical equipment close together, in
/// either order ("水漫出来淌到插座", "water running into the switchboard").
const WATER_ELECTRIC: Concept = Concept {
    category: Repair,
    things: &["水", "雨", "淹", "泡", "滴", "渗", "漏", "湿"],
    failures: ELECTRIC,
    window: 12,
    unless: &[],
};

/// The same in English, where a sentence spreads the two further apart.
const WATER_ELECTRIC_EN: Concept = Concept {
    category: Repair,
    things: &["water", "flood", "rain", "leak", "wet", "soaked", "drip", "pouring", "dripping"],
    failures: ELECTRIC,
    window: 25,
    unless: &[],
};

/// Harmless words that contain a water or an electrical word (`水电费`, `热水器`, `水龙头开关`),
/// or say that water is missing rather than escaping (`停水`, `不出水`). They are masked where
/// they stand, so they hide only themselves: a washing machine named at the end of a report
/// no longer hides water dripping onto a socket earlier in it (round 7 ranked exactly that
/// normal, because these used to switch the whole concept off for the whole text).
const WATER_ELECTRIC_HARMLESS: &[&str] = &[
    "水电费", "电费", "水表读", "抄表", "热水壶", "水壶", "饮水机", "热水器", "电热水", "水电工", "水电煤", "水电维修", "水电都", "水电气",
    "停水", "没水", "没有水", "断水", "不出水", "热水", "不进水", "不排水", "排不出水", "水龙头开关", "水阀开关", "总开关", "净水器", "鱼缸", "水泵", "浇水", "泡面", "泡脚", "泡澡", "泡茶",
    "washing machine", "kettle", "water heater", "water bill", "electric bill", "water meter reading", "bills", "no water", "without water", "water supply", "hot water", "drain outlet", "water outlet", "outlet pipe", "water pump",
];

/// Water and electrical equipment anywhere in one sentence: too loose to be critical, but a
/// danger to life often enough that it belongs to the safety floor.
const WATER_ELECTRIC_SENTENCE: [Concept; 2] = [
    Concept { window: 80, ..WATER_ELECTRIC },
    Concept { window: 80, ..WATER_ELECTRIC_EN },
];

/// Sparks, arcing or burning from electrical equipment: a fire starting.
const SPARKS: Concept = Concept {
    category: Safety,
    things: ELECTRIC,
    failures: &["打火", "冒火", "火花", "火星", "噼里啪啦", "噼啪", "啪啪", "滋滋", "呲呲", "冒烟", "烧焦", "焦味", "糊味", "焦糊", "烧化", "化了", "烧黑", "发黑", "烫手", "冒光", "闪火",
        "spark", "arcing", "crackl", "popping", "smoking", "smoke", "burning", "burnt", "scorch", "melt", "flash", "fizz"],
    window: 8,
    unless: &["打火机", "打不着火", "点火器"],
};

/// Gas escaping: a gas word and a leak or a hiss close together.
const GAS_LEAK: Concept = Concept {
    category: Safety,
    things: &["煤气", "燃气", "天然气", "煤汽", "燃汽", "天燃气", "液化气", "气罐", "钢瓶", "气瓶", "瓦斯", "gas"],
    failures: &["漏", "泄", "呲气", "滋气", "嗤嗤", "哧哧", "嘶", "跑气", "冒气", "往外冒", "往外喷", "往外呲", "关不上", "关不住", "关不死", "拧不紧", "拧不上",
        "leak", "hiss", "escaping", "won't turn off", "can't turn off", "won't shut off", "pouring out"],
    window: 10,
    unless: &["漏水", "燃气费", "缴费", "充值", "燃气卡", "gas bill", "gas card", "gas station", "petrol"],
};

/// An electric shock: someone touched something live. `(word, needs a water or electricity
/// word elsewhere)`: a tingle or numbness is a shock only beside electricity or water.
const SHOCK: &[(&str, bool)] = &[
    ("电了一下", false), ("电了我", false), ("电了他", false), ("电了她", false), ("电到", false), ("电着", false), ("电得", false), ("被电", false), ("电麻", false), ("被麻", false),
    ("shocked", false), ("a shock", false), ("zapped", false),
    ("麻了一下", true), ("麻了一下子", true), ("发麻", true), ("麻麻的", true), ("麻酥酥", true), ("tingl", true),
];
/// Words around a shock word that show it is not one: `充电了一下午`, `被电动车撞`, `停电到现在`.
const SHOCK_NOT: &[&str] = &["充电", "停电", "来电", "没电", "断电", "用电", "省电", "电动", "电瓶", "电视", "电话", "电脑", "电梯", "电费", "电饭", "电影", "电子", "电器", "电工", "电池", "shocked at", "shocked by the", "shocked to", "shocked that", "a shock to", "shocked how"];
const SHOCK_CONTEXT: &[&str] = &["电", "水", "插", "开关", "线", "灯", "electric", "wire", "socket", "outlet", "switch", "water", "cable", "lamp", "pole"];

/// Electric shocks: critical, a safety case (rule 5: live wires).
fn shock_hits(text: &str) -> Vec<(Category, String)> {
    let masked = mask(text, SHOCK_NOT);
    let context = SHOCK_CONTEXT.iter().any(|w| masked.contains(w));
    SHOCK.iter().filter(|(w, needs)| masked.contains(w) && (!needs || context)).filter(|(w, _)| !only_hypothetical(&masked, w)).map(|(w, _)| (Safety, w.to_string())).take(1).collect()
}

/// Serious disruption that must be handled today.
const URGENT: &[(Category, &[&str])] = &[
    (Repair, &[
        "爆管", "水管爆", "管子爆", "水管裂", "爆了", "爆裂", "喷水", "水漫", "淹了", "淹水", "进水了", "漏得厉害", "泡了", "往下淌", "溢水",
        "水越来越多", "滴得越来越", "一滴都", "一滴水", "停水", "没水", "没有水", "断水", "停电", "没电", "没有电", "断电", "没来电", "不来电", "全楼没", "整栋楼没", "整栋楼都没", "整个单元没",
        "门锁坏", "门锁坏了", "门禁坏", "门禁失灵", "单元门坏", "进不去", "锁不上", "门关不上", "打不开门", "出不去",
        "反水", "返水", "往上反", "地漏反", "漫水", "掉下来", "要掉", "快掉", "摇摇欲坠", "玻璃松", "窗户松", "窗框松", "框松", "风一吹", "锈断", "挂在那", "外机松", "外机晃", "悬着", "高空坠物", "坠落", "塌", "掉了好几块",
        "电梯停", "电梯坏", "电梯不动", "停着", "下不来",
        "burst", "flooding", "flooded", "no water", "no power", "power cut", "power outage", "outage", "power has been out", "power is out",
        "no electricity", "power's out", "breaker", "lock is broken", "lock broken", "can't get in", "cannot get in", "won't lock", "won't close", "about to fall",
        "lift is broken", "elevator is broken", "lift broken", "elevator broken", "pouring",
    ]),
    (Municipal, &[
        "井盖丢", "井盖没了", "井盖被偷", "没盖井盖", "井盖坏", "井盖塌", "井盖翘", "没有井盖", "井盖不见", "井盖破", "盖板被", "大洞",
        "没有围挡", "没围挡", "在涨", "到小腿", "到膝盖", "深沟", "也不盖", "不围", "深坑", "撬走", "漫上", "漫过", "栽进", "淹到", "喷泉", "主管破", "水管破", "整条街", "冒水", "雨水井", "篦子丢", "盖子丢", "卡进去", "井盖碎", "盖碎", "崴脚", "倒灌", "漫进", "积水很深", "没过", "越来越深", "刮倒", "快倒", "横在路",
        "manhole", "sinkhole", "tree down", "fallen tree",
    ]),
    (Sanitation, &["往外溢", "往外冒", "脏水", "污水井", "堆成山", "污水外溢", "污水流", "漫到", "冒污水", "化粪池", "溢出来", "漫出来", "针头", "sewage"]),
    (Safety, &[
        "让我转账", "要我转账", "叫我转账", "转账", "转钱", "安全账户", "还没挂", "汇款", "汇钱", "转走", "atm", "打钱", "手术费", "高空抛物", "砸在", "砸到", "验证码", "冒充", "自称", "被骗了", "转完", "汽油", "锁死", "拧门", "咬伤", "撬开",
        "transfer money", "scam call", "needs money", "send money", "gift card", "chained shut", "locked shut", "bitten",
    ]),
    (Care, &["拉肚子", "拉了一整天", "连口热水", "发高烧", "高烧", "发烧", "烧到", "39度", "三十九度", "没人给", "今天没人", "取暖器坏", "冰凉", "这么冷", "冻得", "零下", "没法取暖", "不能取暖", "没暖气", "暖气坏", "暖气不热", "头晕得厉害", "透析", "heating is broken", "no heating", "freezing"]),
    (Living, &["没有吃的", "没吃的", "没东西吃", "胰岛素", "药吃完", "今天吃完", "用完了", "退烧药", "饿着", "挨饿", "断粮", "断顿", "没饭吃", "吃的都没有", "no food"]),
    (Dispute, &["打起来", "推搡", "推推搡搡", "动手了", "往我家流", "流到我家", "敲门就是不开", "往我家灌", "不开门", "往下流", "淌水", "门都不开", "不肯关", "把门堵", "门堵死", "门被堵", "won't open the door"]),
];

/// The safety floor: families of words that plausibly describe a danger to life. None of them
/// is specific enough to make a report critical, but a report that has one is at least urgent
/// (unless it is an idea, thanks, history, or mentions one of the harmless uses listed with it), so a
/// wording of an emergency that no critical cue knows still ranks above ordinary reports.
/// `(category, words, harmless uses)`.
const FLOOR: &[(Category, &[&str], &[&str])] = &[
    // Fire, smoke, burning.
    (Safety, &["火", "烟", "焦味", "焦糊", "糊味", "烧焦", "烧了", "燎", "fire", "smoke", "burning", "flame", "sparks"],
        &["灭火器", "消防", "防火", "火车", "火锅", "上火", "火腿", "火龙果", "打火", "点火", "火柴", "烟头", "烟花", "烟雾报警", "烟感", "烧烤", "熏", "烟味全", "烟全", "抽烟", "火气", "发火", "恼火", "着火以后", "着过火", "烧坏", "烧了几", "不出火", "黑灯瞎火", "熄火", "fire exit", "fire extinguisher", "fire door", "fire drill", "firework", "smoke alarm", "smoke detector", "smoking", "cigarette"]),
    // Gas, however it is spelled.
    (Safety, &["煤气", "燃气", "天然气", "煤汽", "燃汽", "天燃气", "液化气", "气罐", "瓦斯", "臭鸡蛋", "gas"],
        &["燃气灶", "燃气费", "燃气卡", "煤气卡", "气费", "缴", "充值", "报警器", "报警装置", "换煤气罐", "热水器", "停气", "检修", "通知", "补贴", "改造", "申请", "查燃气", "查煤气", "查天然气", "燃气公司", "燃气检查", "检查燃气", "gas company", "gas inspection", "checking the gas", "gas stove", "gas bill", "gas card", "gas cooker", "detector", "gas station"]),
    // A person hurt, collapsed or unresponsive.
    (Care, &["血", "晕", "昏", "不醒", "抽搐", "呼吸", "摔倒", "摔了", "跌倒", "跌了", "滚下", "磕", "起不来", "倒在地", "倒在厕所", "倒在卫生间", "倒在厨房", "倒在床", "倒在门口", "倒在楼", "倒在路", "倒在家", "倒在屋", "没反应", "bleed", "blood", "faint", "unconscious", "breath", "fell", "fallen", "collapse", "not moving", "won't wake"],
        &["血压", "血糖", "验血", "献血", "抽血", "晕车", "头晕", "摔过", "跌倒过", "防摔", "防跌", "摔坏", "摔碎", "磕碰", "按钮", "刷卡", "电梯", "app", "小程序", "物业", "报修", "反映", "投诉", "没反应过来", "fell off", "fell out", "blood pressure", "blood test"]),
    // No answer from someone.
    (Care, &["应门", "没人应", "没人开门", "无应答", "没应答", "无回应", "没回应", "不接电话", "电话不接", "电话也不接", "打不通", "联系不上", "关机", "没动静", "no answer", "not answering", "isn't answering", "hasn't answered", "not picking up", "isn't picking up", "no response", "won't answer", "doesn't answer"],
        &["社区电话", "物业电话", "居委", "热线", "网格员", "客服", "办公室", "漏", "装修", "office", "hotline"]),
    // Someone missing.
    (Safety, &["走丢", "走失", "不见了", "人不见", "失踪", "找不到", "没回来", "没回家", "missing", "can't find", "cannot find", "wandered off", "disappeared", "didn't come home"],
        &["猫", "狗", "泰迪", "宠物", "鸟", "快递", "钥匙", "井盖", "篦子", "盖子", "水带", "车", "找不到人", "找不到地方", "找不到哪", "找不到在哪", "外卖", "快递员", "小哥", "送餐", "骑手", "楼号", "门牌", "pet", "dog", "cat", "parcel", "key", "manhole", "cover", "poodle"]),
    // A cry for help, a threat, violence, a live wire.
    (Safety, &["救命", "救救", "呼救", "help!", "sos", "打人", "打起来", "动手", "刀", "砸门", "砸东西", "威胁", "漏电", "触电", "电到", "电线掉", "电线断", "砍", "杀", "捅", "放话", "扬言", "fight", "attack", "weapon", "threat", "shock", "live wire", "kill", "stab"],
        &["刀片", "菜刀磨", "磨刀", "剪刀", "砍树", "砍掉", "砍了树", "砍伐", "砍价", "砍一刀", "杀虫", "杀毒", "杀蟑", "杀菌", "秒杀", "杀价", "消杀", "杀一下", "统一杀", "杀一杀", "蟑螂", "老鼠", "蚊子", "虫", "捅下水", "捅马桶", "捅一下", "捅开", "捅娄子", "kill bugs", "pest", "killer", "skill"]),
    // Wires hanging loose, which may be live; a charging cable is a different matter.
    (Safety, &["电线垂", "电线耷拉", "电线掉", "电线露", "线头露", "wire hanging", "wires hanging", "cable hanging", "wires dangling", "wire dangling", "loose wire", "exposed cable", "sparks", "spark", "arcing", "crackling"],
        &["充电", "飞线", "charging", "charger"]),
];

/// Which of the floor's families (in `FLOOR`'s order) describe harm to a person, violence or a
/// threat, fire, or a missing or unresponsive person: the guard (`guard_hits`) keeps a report
/// that tells one of them in the present at least urgent whatever else it says.
const FLOOR_PROTECTED: [bool; 7] = [true, false, true, true, true, true, false];

/// Cue phrases that describe sparks or flashes, which water reaching electricity explains.
const SPARK_WORDS: &[&str] = &["火星", "火花", "冒火", "打火", "spark", "arcing", "flash"];

/// Violence, which makes an emergency a safety case whoever is hurt (rule 6).
const VIOLENCE: &[&str] = &["打起来", "打架", "动手", "打人", "砸东西", "摔东西", "家暴", "砍", "刀", "捅", "威胁", "踹门", "砸门", "殴打", "打老婆", "打孩子", "fight", "hitting", "beating", "attacked", "punch", "weapon", "knife"];

/// Words that make a report due today whatever it is about.
const TODAY: &[&str] = &["今天必须", "今天一定", "今天之内", "今天得", "今天要", "今晚怎么过", "今日处理", "今日内", "需今日", "当天处理", "must today", "today"];

/// Proposals and ideas: low whatever they mention.
const SUGGESTION: &[&str] = &[
    "建议", "提议", "提个意见", "提意见", "意见", "增设", "最好能", "要是能", "如果能",
    "多修几", "多建", "多开几", "多设", "可以考虑", "考虑一下", "就好了", "可以搞", "可以办", "可以组织", "可以多", "可以设", "可以每", "搞个", "搞一次", "办一次", "弄个",
    "有个想法", "可以合并", "可以改成", "可以改为", "可以换成", "可以开放", "可以利用",
    "suggest", "suggestion", "we'd love", "would love", "how about", "would be nice", "would be great", "please consider", "it would help", "could you add", "idea",
];

/// Wishes and questions that are ideas only when nothing is broken.
const WISH: &[&str] = &[
    "希望", "能不能", "可不可以", "能否", "可否", "我觉得", "应该", "加个", "多装", "多放", "多安排", "多组织", "多办",
    "hope", "wish", "could we", "can we have", "could the", "add more", "maybe add", "maybe we", "should",
];

/// Words that say something is wrong now, so a wish is a request to fix it.
/// Words that say something is wrong now, or ask for a service, so a wish is a request.
const DEFECT: &[&str] = &[
    "坏", "漏", "堵", "不亮", "破", "太多", "太吵", "太脏", "臭", "尽快", "赶紧", "快点", "修", "没人管", "乱", "不通", "丢了", "老是", "总是",
    "帮忙", "帮我", "帮一下", "叫人", "清掉", "清走", "拉走", "看看", "上门看", "申请", "给我家", "不方便", "不便", "胸闷", "不舒服", "熏黑", "重新刷", "多得", "不得了",
    "清一下", "堆了", "不好用", "不灵", "不脱水", "不工作", "不行了", "派人", "陪一下", "介绍", "成灾", "喷点药", "喷药", "消杀",
    "送上门", "送到家", "能不能办", "换一下", "还是老的", "找个", "推一下", "志愿者", "不制冷", "不制热", "不加热", "不转", "想找人", "想请人", "找人", "适老化", "探访", "助浴", "上门护理", "改造",
    // A question asks for information, not for a change.
    "想问", "请问", "问一下", "咨询", "吗",
    "broken", "leak", "asap", "help me", "help my",
];

/// Praise: low whatever it mentions, unless something is wrong now.
const PRAISE: &[&str] = &[
    "表扬", "点赞", "点个赞", "好评", "辛苦了", "锦旗", "赞一个", "太好了", "满意", "办得好", "做得好", "做得不错", "干得好", "好样的", "很开心", "特别感谢", "非常感谢", "十分感谢",
    "great job", "well done", "appreciate", "grateful", "thank you to", "thanks to", "big thanks", "say thank", "want to thank", "kudos",
];

/// Mild praise: low only when nothing is wrong.
const MILD_PRAISE: &[&str] = &["细心", "耐心", "热心", "用心", "周到", "贴心", "很负责", "挺好", "很好用", "真好", "很棒", "真棒", "暖心", "感动", "给力", "真香", "好用", "nice job", "love the", "really nice", "so nice"];

/// Resultative complements after 不 that say something cannot be done: 打不开, 拎不动, 看不清.
const CANNOT: &[char] = &['动', '了', '上', '开', '到', '清', '住', '进', '出', '下', '来', '去', '见', '着', '起', '够', '全', '掉', '通', '亮', '热', '响'];

/// Whether the text says something cannot be done ("拎不动", "关不上"), not counting
/// questions of the form 能不能 or 是不是.
fn cannot(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    (1..chars.len().saturating_sub(1)).any(|i| {
        chars[i] == '不' && CANNOT.contains(&chars[i + 1]) && chars[i - 1] != chars[i + 1] && crate::bayes::is_cjk(chars[i - 1])
    })
}

/// Thanks, which is often just politeness at the end of a request.
const THANKS: &[&str] = &["谢谢", "感谢", "感激", "多谢", "道谢", "道个谢", "thank"];

/// Words that say it happened before, or is over.
/// Time words put only what follows them (or stands right before them) in the past: "上次我妈
/// 摔倒 …" is history, but "上个月装的热水器, 现在一家人头疼恶心" is not.
const PAST: &[&str] = &[
    "上次", "上回", "以前", "之前", "去年", "上个月", "上周", "前两天", "前几天", "曾经", "那次", "中风后", "摔伤后", "后遗症", "前段时间",
    "那天", "那晚", "当时", "的事", "那件事", "last time", "last year", "last month", "last week", "before",
];
/// Words that say it is over, for the whole report.
const OVER: &[&str] = &["已经扑灭", "已经灭了", "找回", "多亏", "看过了", "没有漏", "已经处理", "修好了", "解决了", "找到了", "办好了", "追回", "处理得", "处理好了", "处理完", "及时处理",
    "sorting out", "sorted out", "for fixing", "for handling", "for dealing with", "was put out", "were put out"];

/// Words that make the clause they stand in hypothetical: "万一哪天电瓶车着火 … 建议 …".
const HYPOTHETICAL_CLAUSE: &[&str] = &["万一", "担心", "怕", "如果", "要是", "哪天", "以免", "防止", "免得", "一旦", "容易", "if ", "in case", "worried", "could ", "might ", "would "];

/// Whether the clause of `norm` that holds the cue is hypothetical.
fn hypothetical_clause(norm: &str, phrase: &str) -> bool {
    clause_has(norm, phrase, HYPOTHETICAL_CLAUSE)
}

/// The clause of `norm` that holds the first occurrence of `phrase` (for `thing…failure`, of its
/// thing): from the punctuation mark before it to the one after it. English clauses run over
/// spaces, so for an English phrase it is the whole sentence. Cuts only on character boundaries.
fn clause_of<'a>(norm: &'a str, phrase: &str) -> Option<&'a str> {
    let key = phrase.split('…').next().unwrap_or(phrase).trim();
    if key.is_empty() {
        return None;
    }
    let i = norm.find(key)?;
    if key.is_ascii() {
        if let Some(sentence) = sentences(norm).find(|s| s.contains(key)) {
            return Some(sentence);
        }
    }
    let stop = |c: char| matches!(c, ',' | '，' | '。' | '.' | '!' | '?' | ' ' | ';' | '、' | '！' | '？' | '；');
    let start = norm[..i].char_indices().rev().find(|(_, c)| stop(*c)).map(|(j, c)| j + c.len_utf8()).unwrap_or(0);
    let end = norm[i..].find(stop).map(|j| i + j).unwrap_or(norm.len());
    Some(&norm[start..end])
}

/// How far (in characters, three times as far for English words) a time word reaches forward.
const PAST_SCOPE: usize = 20;

/// Where a cue stands in the text, in characters: the phrase, or for `thing…failure` its thing.
/// A cue that cannot be found is taken to stand first, the safe side for every use below.
fn cue_at(text: &str, phrase: &str) -> (usize, usize) {
    let key = phrase.split('…').next().unwrap_or(phrase).trim();
    match text.find(key) {
        Some(b) if !key.is_empty() => {
            let at = text[..b].chars().count();
            (at, at + key.chars().count())
        }
        _ => (0, 0),
    }
}

/// Whether a cue is told as history: a time word of the past stands before it (within
/// `PAST_SCOPE`, with no word of the present in between) or right after it ("摔倒那次").
fn told_as_past(text: &str, phrase: &str) -> bool {
    phrase.split('…').all(|part| part_told_as_past(text, part))
}

/// Words that end a time word's reach: "去年装的热水器, 现在一家人都头疼".
const SCOPE_BREAK: &[&str] = &["现在", "今天", "今早", "今晚", "这两天", "now", "today", "tonight", "this morning"];

fn part_told_as_past(text: &str, phrase: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let (at, end) = cue_at(text, phrase);
    let present: Vec<(usize, usize)> = PRESENT.iter().chain(NOW).chain(SCOPE_BREAK).flat_map(|w| positions(&chars, w)).collect();
    PAST.iter().any(|w| {
        let scope = if w.is_ascii() { PAST_SCOPE * 3 } else { PAST_SCOPE };
        positions(&chars, w).into_iter().any(|(s, e)| {
            let before = s <= at && at <= e + scope && !present.iter().any(|(ps, _)| *ps >= e && *ps < at.max(e));
            let after = s >= end && s <= end + 4;
            let around = s <= at && e >= end;
            before || after || around
        })
    })
}

/// Words that say it is happening now.
const NOW: &[&str] = &["快来", "马上", "紧急", "正在", "赶紧", "救命", "还在", "急死", "很急", "着急", "!!", "right now", "urgent", "help!", "please help"];

/// Words that put a danger in the present even when the report also mentions the past
/// ("以前中风过, 刚才突然叫不醒").
const PRESENT: &[&str] = &["突然", "刚才", "刚刚", "此刻", "这会儿", "又", "just now", "right now", "again"];

/// Phrases that contain a cue but mean something harmless; removed before matching.
const HARMLESS: &[&str] = &[
    "打不着火", "点不着火", "不着火", "打火机", "万一着火", "如果着火", "万一", "防跌倒", "防摔", "防滑", "almost fell", "in case of fire", "要停水", "要停电", "又要停", "电池没电", "嘀一声", "吱一声", "应该是没电", "应该是", "好像没电", "手环没电", "怎么充", "检修", "紧急呼叫", "一键呼叫", "猫跑丢", "狗跑丢", "planned", "火锅", "火车", "烟花", "抽烟", "烟头", "烟雾报警", "烟感", "报警器没电", "换电池", "睡着", "起不来床", "起不了床",
    "泰迪走丢", "狗走丢", "猫走丢", "狗狗走丢", "宠物走丢", "狗丢了", "猫丢了", "停水通知", "停电通知", "明天停", "计划停", "预计停",
    "油烟", "吸烟", "香烟", "烟酒", "睡不醒", "blood pressure", "blood sugar", "blood test",
    "叫不开门", "维修基金", "差点摔", "差点跌", "差点滑倒", "险些摔", "nearly fell",
    "no smell of gas", "won't light", "smoke alarm", "smoke detector", "fell off",
    "fire safety", "fire drill", "防走失",
    // After round 10: a hypothetical "if it ever caught fire", a wheelchair that cannot get over a
    // step, a question about opening hours, grass up to the knee, an idiom.
    "着起火来", "真起火来", "真要着", "真要是着", "烧起来可", "开不开门", "长到膝盖", "长到小腿", "no idea", "差点掉进", "险些掉进", "差点掉下去",
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
const ALARMS: &[&str] = &["燃气报警器", "煤气报警器", "烟雾报警器", "报警器", "gas alarm", "smoke alarm", "gas detector", "smoke detector", "co detector", "detector", "alarm"];

/// Removes the harmless phrases.
pub fn defuse(norm: &str) -> String {
    // "不是没电的那种短声" says the battery is not the reason ("是不是没电了" asks whether it is).
    let mut text = if norm.contains("是不是没电") { norm.to_string() } else { norm.replace("不是没电", " ").replace("不是电池", " ") };
    text = text.replace("not the battery", " ").replace("not a low battery", " ");
    // Before the harmless phrases go, as they include "电池没电". Only an alarm with a flat
    // battery near it is neutralised: a phone running flat elsewhere in the report does not
    // silence a gas alarm that is sounding.
    let flat = {
        let chars: Vec<char> = text.chars().collect();
        let device = ["手机", "手表", "电动车", "电瓶车", "充电宝", "遥控", "phone", "e-bike", "car "];
        let batteries: Vec<(usize, usize)> = BATTERY
            .iter()
            .flat_map(|b| positions(&chars, b))
            .filter(|(s, _)| !device.iter().any(|d| positions(&chars, d).into_iter().any(|(_, de)| de <= *s && *s <= de + 3)))
            .collect();
        let near = |a: &str| if a.is_ascii() { 90 } else { 30 };
        ALARMS.iter().any(|a| positions(&chars, a).into_iter().any(|(s, e)| batteries.iter().any(|(bs, be)| *bs <= e + near(a) && s <= be + near(a))))
    };
    if flat {
        for a in ALARMS {
            text = text.replace(a, " 报警装置 ");
        }
        text = text.replace("没电", " 电池 ");
    }
    // A wristband, a phone or an e-bike with a flat battery is not a power cut.
    if ["手环", "手表", "手机", "遥控", "助听器", "电动车", "电瓶车", "充电宝", "wristband", "phone", "e-bike"].iter().any(|d| text.contains(d)) && !text.contains("家里没电") {
        text = text.replace("没电", " 电池 ");
    }
    // A smoke alarm is not smoke, but one going off is an alarm going off.
    for (alarm, neutral) in [("烟雾报警器", " 报警器 "), ("烟雾报警", " 报警 "), ("烟感报警器", " 报警器 "), ("烟感", " 报警器 "), ("smoke alarm", " alarm "), ("smoke detector", " detector ")] {
        text = text.replace(alarm, neutral);
    }
    for h in HARMLESS {
        text = text.replace(h, " ");
    }
    // A pet named shortly before a word for missing is a lost pet (`狗昨天晚上走丢了`), not a
    // missing person: the missing word is masked there only.
    let chars: Vec<char> = text.chars().collect();
    let pets: Vec<(usize, usize)> = ["狗", "猫", "泰迪", "宠物", "鹦鹉", "兔子", "dog", "cat ", "puppy", "kitten"].iter().flat_map(|p| positions(&chars, p)).collect();
    let mut masked = chars.clone();
    for w in ["走丢", "丢了", "跑丢", "不见了", "找不到", "missing", "lost"] {
        for (s, e) in positions(&chars, w) {
            if pets.iter().any(|(_, pe)| *pe <= s && s <= pe + 8) {
                masked[s..e].iter_mut().for_each(|c| *c = ' ');
            }
        }
    }
    strip_denials(&masked.into_iter().collect::<String>())
}

/// A concept: something that matters (`things`) and a failure of it (`failures`) within
/// `window` characters of each other, in either order: "电梯 … 歇菜", "水 … 喷". Families of
/// words rather than whole phrases, so that wordings never seen still match.
struct Concept {
    category: Category,
    things: &'static [&'static str],
    failures: &'static [&'static str],
    window: usize,
    /// Words that show the failure is of something harmless (a door closer, a pavement tile).
    unless: &'static [&'static str],
}

/// Words that make a failure hypothetical or denied: "担心掉下来", "还没掉", "没人被关".
const HYPOTHETICAL: &[&str] = &["担心", "怕", "万一", "哪天", "一旦", "肯定要", "肯定会", "迟早", "早晚会", "容易", "会不会", "还没", "没有", "不会", "防止", "以免", "如果", "要是", "小心", "might", "could", "worried", "in case", "not "];

/// People who can collapse, be hurt or go missing.
const PERSON: &[&str] = &[
    "老人", "老爷爷", "老奶奶", "老头", "老太", "老太太", "大爷", "大妈", "奶奶", "爷爷", "姥姥", "姥爷", "我爸", "我妈", "老伴", "婆婆", "公公", "外婆", "外公",
    "老人家", "老公", "老婆", "孩子", "小孩", "宝宝", "儿子", "女儿", "邻居", "阿姨", "叔叔", "大叔", "他", "她", "人",
];

const CRITICAL_CONCEPTS: &[Concept] = &[
    // A fire that is big or spreading.
    Concept { category: Safety, things: &["火", "fire", "flames"], failures: &["好大", "很大", "太大", "越来越大", "越烧越", "窜", "蔓延", "冒出来", "烧着", "烧过来", "spreading", "big"], window: 3, unless: &[] },
    Concept { category: Safety, things: &["电瓶车", "电动车", "充电宝", "电池", "锂电", "e-bike", "battery"], failures: &["炸了", "爆了", "自燃", "爆燃", "烧了", "exploded", "caught fire"], window: 10, unless: &[] },
    // A person who has collapsed or does not respond.
    Concept { category: Care, things: PERSON,
        failures: &["晕过去", "昏过去", "晕了过去", "晕倒", "昏倒", "一动不动", "突然不动", "突然就不动", "不会动了", "人不动了", "不答应", "没知觉", "失去意识", "没意识", "嘴唇发紫", "脸发紫", "脸色发紫", "脸色煞白", "抽搐", "口吐白沫", "翻白眼", "休克", "叫不应", "喊不应", "叫了不应", "没了呼吸", "摔了", "栽倒", "瘫在地上", "躺在地上", "倒在地", "倒在厕所", "倒在卫生间", "倒在厨房", "倒在床", "倒在门口", "倒在楼", "倒在路", "倒在家", "倒在屋", "倒下", "迷迷糊糊", "不醒", "没反应了", "滚下"], window: 14, unless: &["电梯", "按钮", "刷卡"] },
    // Someone called, shaken or knocked for, who does not respond.
    Concept { category: Care, things: &["喊", "叫", "拍", "摇", "推他", "推她", "掐人中", "敲门", "敲了", "敲半天", "打电话", "打了电话", "电话"],
        failures: &["没反应", "没有反应", "不醒", "不应", "没人应", "没应", "无应答", "无回应", "没回应", "没动静", "没人开", "不睁眼", "没知觉", "不吭声", "没声音", "没人接", "不接", "打不通", "关机"], window: 5,
        unless: &["物业", "客服", "师傅", "维修", "居委", "网格员", "热线", "app", "小程序", "按钮", "刷卡", "漏", "水", "装修", "吵", "噪音", "社区电话", "办公室", "对讲", "门铃", "快递", "外卖", "intercom", "doorbell"] },
    // No answer for a day or more, or from someone living alone.
    Concept { category: Care, things: &["应门", "没人应", "没人开", "不开门", "没开门", "无应答", "没应答", "不应答", "没有应答", "无回应", "没回应", "没有回应", "不回应", "no response", "doesn't answer", "didn't answer", "won't answer", "not answered", "hasn't responded", "没人接", "也不接", "一直不接", "没声音", "声音都没有", "不接电话", "电话不接", "打不通", "关机", "联系不上", "没动静", "没露面", "没出门", "没下楼", "没见人", "没见着", "no answer", "not answering", "isn't answering", "hasn't answered", "not picking up", "not opened", "hasn't opened", "phone is off", "hasn't been seen", "no one has seen", "nobody has seen", "not seen"],
        failures: &["两天", "一天", "三天", "几天", "好几天", "一整天", "整天", "连续", "昨天", "前天", "独居", "一个人住", "孤寡", "空巢", "老人", "大爷", "大妈", "奶奶", "爷爷", "老太", "老头", "days", "since yesterday", "all day", "lives alone", "living alone", "elderly", "old man", "old lady", "old woman",
            // Signs that nobody has been in or out: curtains, papers, milk or parcels piling up.
            "窗帘", "报纸", "牛奶", "快递堆", "信箱", "灯一直", "curtains", "newspaper", "milk", "mail", "post is piling", "parcels"], window: 16,
        unless: &["漏", "装修", "吵", "噪音", "物业", "客服", "居委", "网格员电话", "热线", "社区电话", "办公室", "office", "hotline"] },
    // A missing child: a child and a word for missing.
    Concept { category: Safety, things: &["小孩", "孩子", "儿子", "女儿", "男孩", "女孩", "宝宝", "闺女", "孙子", "孙女", "外孙", " son", "daughter", "child", " kid", " boy", " girl", "toddler", "baby"],
        failures: &["走丢", "走失", "不见了", "人不见", "找不到了", "找不到他", "找不到她", "找不到人", "到处找不到", "哪都找不到", "都找不到", "没回来", "没回家", "没到家", "失踪", "没找到", "没找着", "一转眼", "missing", "got lost", "is lost", "lost my", "can't find", "cannot find", "can not find", "wandered off", "disappeared", "didn't come home", "hasn't come home", "not come home", "hasn't come back", "didn't come back", "didnt come home", "didnt come back", "hasnt come home", "hasnt come back", "never came home", "never came back", "not home yet", "didn't get home", "didnt get home", "找遍", "到处找", "is gone", "looked everywhere", "searched everywhere"], window: 10, unless: &["找回", "找到了"] },
    // A missing elder or other adult.
    Concept { category: Care, things: &["老人", "老爷爷", "老奶奶", "老头", "老太", "大爷", "大妈", "奶奶", "爷爷", "姥姥", "姥爷", "外婆", "外公", "我爸", "我妈", "老伴", "老公", "老婆", "痴呆", "糊涂", "mum", "mom", "dad", "father", "mother", "grandma", "grandpa", "grandmother", "grandfather", "husband", "wife", "elderly", "old man", "old lady", "old woman", "dementia"],
        failures: &["走丢", "走失", "不见了", "人不见", "找不到了", "找不到他", "找不到她", "找不到人", "到处找不到", "哪都找不到", "都找不到", "没回来", "没回家", "失踪", "没找到", "没找着", "missing", "can't find", "cannot find", "wandered off", "disappeared", "didn't come home", "hasn't come home", "hasn't come back", "didn't come back", "not come back", "not found", "haven't found", "找遍", "到处找", "is gone", "looked everywhere", "searched everywhere"], window: 16, unless: &["找回", "找到了"] },
    // A head injury that bleeds.
    Concept { category: Care, things: &["头", "脑袋", "额头", "脸上", "后脑", "head", "face"], failures: &["血", "磕破", "破了", "裂了", "blood", "bleeding", "cut open"], window: 6, unless: &["血压", "血糖", "blood pressure"] },
    // Smoke pouring out, however it is told.
    Concept { category: Safety, things: &["烟"], failures: &["冒", "往外", "滚滚", "一大片", "黑乎乎", "弥漫", "全是", "好大", "很大", "呛得", "睁不开", "往楼上", "窜", "蹿", "冲出"], window: 6, unless: &["烧香", "烧纸", "香火", "烧烤", "油烟", "天天", "每天", "经常", "老是", "总是"] },
    Concept { category: Safety, things: &["smoke"], failures: &["coming", "pouring", "billowing", "thick", "black", "everywhere", "filling", "out of"], window: 8, unless: &[] },
    // Something catching fire: 着了 after something that burns, not 睡着了 or 找着了.
    Concept { category: Safety, things: &["家着了", "户着了", "屋着了", "房着了", "楼着了", "锅着了", "线着了", "帘着了", "车着了", "板着了", "子着了", "突然着了", "都着了", "全着了", "又着了", "就着了", "给着了", "烧着", "点着了"],
        failures: &["着了", "烧着"], window: 0, unless: &["点着了火", "燃气灶点着", "灶点着"] },
    Concept { category: Care, things: &[" he ", " she ", "he's", "she's", " him", " her ", "man", "woman", "lady", "grandma", "grandpa", "dad", "mum", "mom", "neighbour", "neighbor"],
        failures: &["passed out", "fainted", "not breathing", "seizure", "isn't moving", "not moving", "won't wake", "lying on the floor", "on the ground", "turning blue"], window: 40, unless: &[] },
    // An elder not seen for days who does not answer.
    Concept { category: Care, things: &["没下楼", "没出门", "没露面", "没见人", "没见着", "没看见", "没见到", "没人影", "没出来"], failures: &["敲门", "电话", "关机", "打不通", "没人接", "不接", "没人应", "不应", "报纸", "牛奶", "快递"], window: 14, unless: &[] },
    // People inside a stuck lift.
    Concept { category: Repair, things: &["电梯", "lift", "elevator"], failures: &["在里面", "人在里", "在里头", "在里边", "人在里头", "被关", "卡在半", "卡在中间", "半中间", "层中间", "楼中间", "between floors", "inside"], window: 14, unless: &["里面没人", "没人在里", "里头没人", "nobody inside", "no one inside", "empty"] },
    // A lift that dropped or lurched, or people inside a lift whose doors will not open, told
    // further apart (after round 11: "电梯咣一下往下掉了一截 … 我跟孩子在里面 门扒不开").
    Concept { category: Repair, things: &["电梯", "轿厢", "lift", "elevator"], failures: &["往下掉", "掉了一截", "往下坠", "下坠", "坠了", "往下滑", "溜梯", "溜车", "冲顶", "蹲底", "猛地一沉", "往下一沉", "往下冲", "dropped", "plunged", "fell several", "fell a floor", "free fall"], window: 10, unless: &["广告", "按钮", "button"] },
    Concept { category: Repair, things: &["电梯", "轿厢", "lift", "elevator"], failures: &["我在里面", "在里面", "在里头", "人在里", "扒不开", "出不来", "stuck in", "trapped", "can't get out"], window: 30, unless: &["里面没人", "没人在里", "里头没人", "空的", "空着", "下不来", "师傅在里", "维修", "nobody inside", "no one inside", "empty"] },
    // Moaning or crying out behind a door, or a door locked from inside where someone lives alone or
    // does not answer (after round 11: "独居的大爷家里有哼哼的声音 门从里面反锁了").
    Concept { category: Care, things: &["哼哼", "呻吟", "哼唧", "喊疼", "叫疼", "喊痛", "哎哟", "哎呦", "哀嚎", "哀叫", "moaning", "groaning", "crying out", "whimper"],
        failures: &["独居", "一个人", "老人", "大爷", "大妈", "奶奶", "爷爷", "老太", "老头", "反锁", "门", "没人应", "不开门", "不应", "alone", "door", "elderly", "old man", "old lady", "old woman"], window: 24, unless: &["装修", "吵", "噪音", "noise"] },
    Concept { category: Care, things: &["反锁", "从里面锁", "锁着门", "locked from inside", "locked from the inside", "bolted from inside"],
        failures: &["独居", "一个人住", "老人", "大爷", "大妈", "奶奶", "爷爷", "老太", "老头", "没人应", "不应", "不开门", "没反应", "没动静", "没声音", "哼", "呻吟", "lives alone", "elderly", "no answer", "not answering", "moaning", "groaning"], window: 24, unless: &["钥匙", "开锁", "锁匠", "忘带", "key", "locksmith"] },
    // Threats of violence.
    Concept { category: Safety, things: &["棍", "棒", "刀", "斧", "砖头", "铁锹", "锤", "枪", "弩", "匕首", "硫酸", "酒瓶", "gun", "knife", "machete", "bat ", "crossbow", "axe", "hammer"],
        failures: &["抡", "挥", "拎着", "拿着", "举着", "握着", "揣着", "别着", "对着", "指着", "比划", "追", "砍", "打人", "打谁", "要打", "堵在", "守在", "掏出", "掏了", "亮出", "亮了", "拔出", "拔了", "抽出", "摸出", "pulled out", "pulled a", "took out", "drew a", "wielding", "waving", "pointing", "holding", "carrying", "chasing", "with a"], window: 8, unless: &["菜刀磨", "磨刀", "刀片", "水枪", "玩具", "toy", "water gun", "nail gun"] },
    Concept { category: Safety, things: &["要打人", "要打我", "要打你", "要打他", "要打她", "打谁", "打死", "弄死", "捅", "踹门", "踹我家", "砸我家", "杀了", "报复", "弄你", "收拾你", "废了你", "砍我", "砍你", "砍他", "砍她", "砍死", "砍人", "打断你", "打断他", "卸你", "kill", "hurt you", "stab", "get you"], failures: &["说", "喊", "骂", "嚷", "威胁", "扬言", "留话", "留言", "留了", "纸条", "放话", "发消息", "短信", "等着", "今晚", "明天", "明晚", "改天", "带人", "said", "says", "shouting", "yelling", "told", "note", "message", "tonight", "threat"], window: 12, unless: &["下水", "马桶", "管道", "疏通", "通一下", "堵", "蜂窝", "马蜂"] },
    // Petrol or another accelerant poured, or with a threat: a fire about to be set.
    Concept { category: Safety, things: &["汽油", "柴油", "酒精", "天那水", "香蕉水", "稀料", "petrol", "gasoline", "lighter fluid", "accelerant"],
        failures: &["泼", "浇", "洒", "倒在", "倒了", "倒满", "点火", "点着", "要点", "点了", "说要", "打火机", "威胁", "扬言", "同归于尽", "烧", "poured", "pouring", "splash", "douse", "soak", "threat", "lighter", "set fire", "burn"], window: 14, unless: &[] },
    // Oil or another liquid poured at a door: an accelerant, whatever it is called.
    Concept { category: Safety, things: &["泼", "浇"], failures: &["油", "液体", "汽油", "柴油", "酒精", "稀料"], window: 8, unless: &["油漆", "火上浇油", "浇花", "浇水", "油烟"] },
    // A threat to set a home or a person on fire: a word of intent before burning or lighting.
    Concept { category: Safety, things: &["要点", "要烧", "想点", "想烧", "去点", "去烧", "就点", "就烧"],
        failures: &["我", "你", "他", "她", "房", "家", "屋", "楼", "车"], window: 2, unless: &["烧水", "烧饭", "烧菜", "烧香", "烧纸", "烧烤", "需要点", "要点儿", "要点时间", "要点钱", "要点吃"] },
    Concept { category: Safety, things: &["把房子", "把屋子", "把你家", "把我家", "把他家", "把她家", "把楼", "把这栋楼"],
        failures: &["点了", "烧了", "给点", "给烧", "点着", "烧掉", "烧光"], window: 4, unless: &[] },
    // Something that burns has been lit: `把窗帘点了`, `被子烧起来`.
    Concept { category: Safety, things: &["窗帘", "被子", "床单", "床垫", "沙发", "衣服", "纸箱", "柜子", "垃圾桶", "杂物", "草垛", "干草", "帘子", "curtain", "sofa", "mattress", "bedding"],
        failures: &["点了", "点着", "烧起来", "烧着", "在烧", "着起来", "着了", "燃起来", "caught", "alight", "burning", "lit"], window: 6, unless: &["差点", "没点", "没着"] },
    // A child or an elder in a place where they can fall, drown or suffocate.
    Concept { category: Safety, things: &["小孩", "孩子", "儿子", "女儿", "男孩", "女孩", "宝宝", "孙子", "孙女", "child", " kid", "toddler", "baby", " boy", " girl"],
        failures: &["锁在车里", "关在车里", "困在车里", "留在车里", "车里没人", "窗台上", "爬上窗", "阳台外", "栏杆外", "翻过栏杆", "翻出阳台", "卡住了头", "头卡在", "卡在栏杆", "掉进", "掉下去", "掉到", "在水里", "locked in the car", "left in the car", "in a hot car", "window ledge", "on the ledge", "over the railing", "over the balcony", "hanging from", "head stuck"], window: 12, unless: &["差点", "险些", "担心", "怕", "万一", "防止", "护栏", "装个", "装防护", "建议"] },
    Concept { category: Municipal, things: &["有人", "人掉", "老人", "大爷", "大妈", "孩子", "小孩", "行人", "他", "她", "someone", "a man", "a woman", "a child"],
        failures: &["掉进", "掉到井", "掉下去了", "摔进", "跌进", "fell into", "fell down a", "fell in"], window: 10, unless: &["差点", "险些", "almost", "nearly"] },
    // A fire and people getting out.
    Concept { category: Safety, things: &["火", "烟", "fire", "smoke", "flames"], failures: &["疏散", "撤离", "逃生", "往外跑", "往楼下跑", "跑下楼", "跑出来", "逃出来", "evacuat", "escap", "getting out", "get out", "run out", "running out", "fled"], window: 30,
        unless: &[] },
    // Someone on the floor who cannot get up, however it is told.
    Concept { category: Care, things: &["地上", "地板", "坐在地", "躺在地", "floor", "ground"],
        failures: &["起不来", "起不了", "站不起", "爬不起", "扶不起", "扶不动", "抱不起", "抱不动", "拉不起", "拽不起", "使不上劲", "使不上力", "没力气", "动不了", "can't get up", "cannot get up", "unable to get up", "can't stand", "can't lift", "cannot lift", "can't get him up", "can't get her up", "can't pick him up", "can't pick her up"], window: 16, unless: &[] },
    // A confused elder or one with dementia who has gone out and not come back.
    Concept { category: Care, things: &["糊涂", "痴呆", "失智", "认知症", "阿尔茨海默", "记性不好", "不认路", "不认得路", "不认识路", "认不得路", "不记得路", "找不到家", "dementia", "confused", "alzheimer"],
        failures: &["出去了", "出门了", "跑出去", "走出去", "走出小区", "走出了", "出了小区", "自己出去", "自己出门", "没回", "没找到", "没找着", "找不到", "不见", "走丢", "走失", "wandered", "went out", "left the house", "left home", "not back", "hasn't come back", "missing", "can't find", "not found"], window: 30,
        unless: &["防走失", "日托", "想问", "申请", "办理", "经常", "老是", "总是", "每次", "怎么办", "day care", "often", "always"] },
    // A burning smell from a flat nobody answers, or through a door.
    Concept { category: Safety, things: &["糊味", "糊的味", "烧糊", "烧东西的味", "焦味", "burnt", "burning"],
        failures: &["门缝", "门里", "门口", "敲门", "没人", "没人应", "不开门", "报警器", "警报", "越来越浓", "越来越大", "door", "nobody", "no one", "no answer", "alarm"], window: 24, unless: &[] },
];

/// An alarm sounding, however it is told.
const SOUNDING: &[&str] = &["响", "在叫", "一直叫", "叫个不停", "叫了", "叫起来", "呜呜叫", "乱叫", "鸣", "嘀嘀", "滴滴", "嘟嘟", "哔哔", "呜呜", "报警了", "亮红灯", "闪红灯", "红灯一闪", "停不下来",
    "going off", "went off", "gone off", "goes off", "beeping", "sounding", "won't stop", "keeps", "screaming", "ringing", "blaring", "shrieking", "triggered"];

/// An alarm that went off by mistake, is being tested or asked about, or whose battery is flat
/// (which `defuse` has turned into `报警装置`).
const ALARM_FALSE: &[&str] = &["误报", "原来是", "不响了", "没响了", "没报警", "turned out", "it was just", "没信号", "离线", "offline", "电池", "没电", "充电", "battery", "charge", "演练", "drill", "by mistake", "false alarm", "she's fine", "he's fine", "人好好的", "没事", "测试", "test", "怎么关", "how do i turn", "how to turn", "申请", "怎么用", "怎么充", "apply"];
const ALARM_HARMLESS: &[&str] = &["报警装置", "alarm button", "报警按钮", "一键报警"];

/// Alarms that mean a life is at risk when they sound, and symptoms of poisoning: critical.
const ALARM_CONCEPTS: &[Concept] = &[
    // A gas or carbon monoxide alarm sounding.
    Concept { category: Safety, things: &["燃气报警", "煤气报警", "天然气报警", "可燃气体报警", "一氧化碳报警", "co报警", "co alarm", "co detector", "co monitor", "carbon monoxide alarm", "carbon monoxide detector", "gas alarm", "gas detector"],
        failures: SOUNDING, window: 12, unless: ALARM_FALSE },
    // A fall alarm or an SOS from a wristband or an alarm button.
    Concept { category: Care, things: &["跌倒报警", "摔倒报警", "跌倒警报", "摔倒警报", "手环", "sos", "呼叫器", "紧急按钮", "呼叫按钮", "fall alarm", "fall detector", "fall alert", "wristband", "pendant", "panic button", "emergency button", "sos button"],
        failures: &["响", "在叫", "一直叫", "叫个不停", "叫了", "鸣", "报警", "警报", "求救", "呼救", "发出", "发了", "触发", "显示跌倒", "going off", "went off", "gone off", "goes off", "beeping", "sounding", "triggered", "alert", "pressed", "sos"],
        window: 14, unless: ALARM_FALSE },
    // Any alarm sounding while the person inside does not answer.
    Concept { category: Care, things: &["报警", "警报", "alarm", "detector"],
        failures: &["没人应", "没人接", "不接", "没人开门", "敲门没人", "没人开", "家里没人", "好像没人", "没人在家", "屋里没人", "人不在家", "不在家", "不开门", "没反应", "没有反应", "无应答", "没应答", "无回应", "没回应", "联系不上", "打不通", "关机", "not answering", "isn't answering", "not picking up", "isn't picking up", "no answer", "nobody answers", "no one answers", "won't answer", "doesn't answer", "can't reach", "cannot reach", "no response", "nobody home", "no one home", "nobody's home"],
        window: 30, unless: ALARM_FALSE },
    // Any alarm sounding beside a strange smell or burning (after round 11).
    Concept { category: Safety, things: &["报警器", "警报", "alarm", "detector"],
        failures: &["怪味", "异味", "味道", "臭味", "糊味", "焦味", "烟", "smell", "smoke", "burning"],
        window: 30, unless: ALARM_FALSE },
];

/// Headache, dizziness or vomiting where there is gas, carbon monoxide, a charcoal fire or a
/// water heater: poisoning, a hazard hurting people, so `safety` however much the report
/// says about the heater or the bathroom (rule 6).
const POISONING: Concept =
    Concept { category: Safety, things: &["煤气", "燃气", "天然气", "煤汽", "燃汽", "液化气", "瓦斯", "一氧化碳", "烧炭", "炭火", "炭盆", "煤炉", "蜂窝煤", "煤球", "热水器", "报警器", "gas", "carbon monoxide", " co ", "co alarm", "co detector", "fumes", "charcoal", "boiler", "heater"],
        failures: &["头疼", "头痛", "头晕", "头昏", "发晕", "晕乎", "恶心", "想吐", "呕吐", "吐了", "犯困", "没力气", "浑身无力", "站不稳", "胸闷", "喘不上", "headache", "head is pounding", "head hurts", "pounding", "dizzy", "nause", "vomit", "throwing up", "drowsy", "light-headed", "lightheaded"],
        window: 40, unless: &["燃气费", "缴费", "gas bill", "晕车"] };

/// Wordings on the safety floor that need two things together: any alarm sounding.
const FLOOR_CONCEPTS: &[Concept] = &[
    Concept { category: Safety, things: &["报警器", "警报", "alarm", "detector"], failures: SOUNDING, window: 12, unless: ALARM_FALSE },
];

const URGENT_CONCEPTS: &[Concept] = &[
    // Water that escapes: a burst, a spray, a flood.
    Concept { category: Repair, things: &["水管", "管子", "管道", "接头", "阀门", "水箱", "暖气管", "总管", "进水管", "软管"], failures: &["爆", "崩", "裂开", "断了", "脱了", "喷", "冒水", "哗哗", "漫", "淹", "止不住", "关不住", "关不死", "关不上"], window: 6, unless: &[] },
    Concept { category: Repair, things: &["水"], failures: &["喷", "涌", "哗哗", "灌进", "漫", "淹", "成河", "跟河", "像河", "止不住", "关不住", "往下流", "往下淌", "往楼下流", "往楼梯下", "顺着楼梯", "流到客厅", "流进", "没过", "到脚踝", "到脚脖子", "越来越多", "流个不停", "流了一地", "往外冒", "往外射", "往外流", "滋", "飙"], window: 4, unless: &["水坑", "水渍", "水印", "热水器不", "喷药", "浇水"] },
    Concept { category: Repair, things: &["全是水", "一地水", "满地水", "都是水", "一屋子水", "一屋水", "到处是水", "到处都是水"], failures: &["楼道", "走廊", "楼梯", "家里", "屋里", "客厅", "厨房", "卫生间", "地下室", "一楼", "顶楼", "房间"], window: 10, unless: &[] },
    Concept { category: Repair, things: &["pipe", "water", "main"], failures: &["burst", "gushing", "spraying", "spurting", "pouring", "flooding", "everywhere", "won't stop", "can't stop"], window: 12, unless: &[] },
    // Water or power missing now.
    Concept { category: Repair, things: &["水龙头", "龙头", "自来水", "冷水"], failures: &["不出水", "没水", "出不来", "一滴", "一点水", "水都没", "没有水", "没出水", "不来水", "拧开没", "打开没", "没反应", "断了", "停了"], window: 8, unless: &["热水"] },
    Concept { category: Repair, things: &["家里", "屋里", "全楼", "整栋", "整幢", "整个楼", "一栋楼", "这栋", "栋楼", "幢楼", "楼上楼下", "楼里", "单元", "全家", "我家", "整个小区", "半个小区", "一片", "整层"],
        failures: &["黑了", "全黑", "一片黑", "漆黑", "黑灯瞎火", "黑漆漆", "黑乎乎", "灯都不亮", "灯全不亮", "都没电", "全没电", "没电了", "停电", "断电", "不来电", "没来电", "跳闸", "断水", "停水", "没水", "不出水", "没来水"], window: 10, unless: &["楼道灯", "楼到灯", "声控灯", "路灯", "感应灯", "楼梯灯", "走廊灯"] },
    Concept { category: Repair, things: &["冰箱", "空调", "电器", "灯"], failures: &["全停", "都停了", "都不转", "全不亮", "都灭了", "全灭了"], window: 6, unless: &[] },
    Concept { category: Repair, things: &["power", "electricity", "lights", "water"], failures: &["went out", "gone out", "is out", "are out", "been out", "cut off", "been off", "is off", "stopped", "no ", "without", "lost", "nothing comes out", "not coming out"], window: 12, unless: &[] },
    // A broken entrance or flat door, or a lock that shuts people out.
    Concept { category: Repair, things: &["门锁", "锁芯", "单元门", "防盗门", "入户门", "家门", "楼门", "大门", "门禁", "钥匙", "entrance door", "front door", "main door", "door lock", "the lock"],
        failures: &["坏", "打不开", "开不了", "进不去", "进不了", "关不上", "合不上", "锁不上", "关不住", "拧不动", "转不动", "插不进", "刷不开", "失灵", "won't shut", "won't close", "won't open", "won't lock", "doesn't close", "doesn't lock", "can't get in", "swings open", "is broken", "broke"], window: 10, unless: &["闭门器", "信报箱", "信箱", "电表箱", "天台", "对讲", "可正常", "能正常", "door closer", "mailbox", "intercom"] },
    // A lift out of service with nobody inside.
    Concept { category: Repair, things: &["电梯", "lift", "elevator"], failures: &["停了", "停在", "停运", "不动", "坏了", "坏掉", "故障", "歇菜", "罢工", "趴窝", "用不了", "不能用", "没法用", "不走了", "瘫痪", "stopped", "not working", "out of order", "is dead", "broken down"], window: 8, unless: &["按钮", "button", "广告", "异响", "声音", "响", "检修", "维保", "停梯"] },
    // Something about to fall off a building.
    Concept { category: Repair, things: &["瓷砖", "外墙", "保温层", "窗户", "窗框", "窗扇", "玻璃", "外机", "空调架", "支架", "广告牌", "招牌", "雨棚", "顶棚", "防盗窗", "栏杆", "tiles", "window", "air conditioner", "ac unit", "sign"],
        failures: &["往下掉", "掉下来", "掉了", "要掉", "快掉", "会掉", "坠", "砸", "松了", "松动", "晃", "摇摇", "悬", "吊在", "掀", "脱落", "掉渣", "about to fall", "falling", "hanging", "loose"], window: 10, unless: &["地砖", "路面", "人行道", "pavement", "sidewalk", "还没掉", "没掉", "充电", "电线", "cable", "charging"] },
    // An open manhole or pit in the road.
    Concept { category: Municipal, things: &["井盖", "窨井", "盖板", "篦子", "箅子", "下水井", "雨水井"], failures: &["丢", "没了", "不见", "翻", "碎", "塌", "歪", "斜", "翘", "移位", "被偷", "撬", "弄走", "拿走", "偷走", "搬走", "陷", "掉下去", "缺了", "missing", "gone"], window: 8, unless: &[] },
    Concept { category: Municipal, things: &["坑", "洞", "窟窿", "沟", "hole", "pit"], failures: &["没有围", "没围", "不围", "敞着", "栽", "掉进", "塌", "差点", "看不见", "看不清", "no barrier", "no fence", "fell in", "fall in"], window: 10, unless: &[] },
    Concept { category: Municipal, things: &["树", "电线杆", "路灯杆", "杆子", "tree", "pole"], failures: &["倒了", "刮倒", "压在", "横在", "砸", "快倒", "要倒", "down", "fallen", "blocking"], window: 8, unless: &[] },
    // Rain water rising because the drains are blocked.
    Concept { category: Municipal, things: &["雨", "下水道", "排水", "雨水口", "下水口", "积水", "drain", "rain"], failures: &["涨", "漫进", "漫到", "漫上", "淹", "倒灌", "灌进", "越来越深", "越来越高", "没过", "到小腿", "到膝盖", "熄火", "进店", "进一楼", "rising", "flooding", "knee"], window: 12, unless: &[] },
    // Sewage coming up.
    Concept { category: Sanitation, things: &["化粪池", "污水井", "排污", "粪水", "污水", "sewage", "septic"], failures: &["溢", "冒", "漫", "涌", "翻", "往外", "流到", "一地", "overflow", "spilling"], window: 8, unless: &["浇"] },
    // An elder, alone, who is ill.
    Concept { category: Care, things: &["发烧", "高烧", "呕吐", "吐了一", "上吐下泻", "拉肚子", "拉了一天", "腹泻", "打晃", "起不了床", "下不了床", "病倒", "病了", "生病", "病得", "病着", "不舒服", "咳得", "fever", "vomiting", "diarrh", "can't get out of bed", " ill", "sick", "unwell"],
        failures: &["没人", "一个人", "独居", "孤寡", "不在身边", "在外地", "回不去", "赶不回", "没人照顾", "没人管", "没吃", "饭都", "lives alone", "alone", "nobody", "no one", "abroad", "hasn't eaten", "not eaten"], window: 24, unless: &["去年", "以前", "上次"] },
    // An elder in the cold: no heating in winter (rule 14).
    Concept { category: Care, things: &["老人", "独居", "孤寡", "空巢", "大爷", "大妈", "奶奶", "爷爷", "老太", "老头", "老爷子", "elderly", "old man", "old lady", "old woman", "grandma", "grandpa"],
        failures: &["寒潮", "温度很低", "温度太低", "室温", "冻得", "冻坏", "太冷", "好冷", "很冷", "冷得", "冰凉", "冰窖", "暖气坏", "暖气不热", "没暖气", "取暖器坏", "空调坏", "cold snap", "freezing", "no heating", "heating is broken", "heater is broken", "heater broke"], window: 20, unless: &["建议", "去年", "以前"] },
    // Water pouring into a home faster than it can be caught.
    Concept { category: Repair, things: &["漏雨", "漏水", "渗水", "雨水", "水"], failures: &["往屋里", "往家里", "往里灌", "灌进", "灌到", "接不过来", "接不住", "盆都", "桶都"], window: 10, unless: &["浇水"] },
    // An entrance that will not close, whatever broke (a closer that only slams is normal).
    Concept { category: Repair, things: &["单元门", "楼门", "大门", "防盗门", "入户门", "家门", "楼道门", "门禁门", "闭门器", "entrance", "front door", "main door", "door closer"],
        failures: &["关不上", "合不上", "锁不上", "关不住", "关不严", "锁不了", "晃来晃去", "大敞", "敞着", "一直开着", "won't shut", "won't close", "won't lock", "doesn't close", "swings open", "stays open", "left open"], window: 12, unless: &["信箱", "信报箱", "电表箱", "柜门", "车门"] },
    // Medicine that runs out today.
    Concept { category: Living, things: &["药", "胰岛素", "insulin", "pills", "medicine"], failures: &["吃完", "用完", "没了", "断了", "快没", "run out", "ran out", "runs out", "running out"], window: 8, unless: &[] },
];

/// A child, and words for someone missing.
const CHILD: &[&str] = &["小孩", "孩子", "儿子", "女儿", "男孩", "女孩", "宝宝", "闺女", "child", "son", "daughter", "kid", "boy", "girl"];
const MISSING: &[&str] = &["走丢", "走失", "不见了", "找不到", "没回来", "没回家", "没到家", "失踪", "missing", "can't find", "didn't come home", "didnt come home", "hasnt come home", "never came home"];

/// Fraud in progress or money just lost: a scam, money, and now.
const FRAUD: &[&str] = &["骗", "pretending", "impersonat", "冒充", "自称", "假的", "假冒", "安全账户", "投资", "导师", "扫码", "扫了个码", "领红包", "刷单", "返利", "客服", "公安", "警察", "海关", "检察院", "出车祸", "出事了", "涉嫌", "洗钱", "冻结", "中奖", "中了奖", "领奖", "退款", "理赔", "诱导", "fake", "refund", "prize", "lottery", "won a", "scam", "police", "customs", "officer", "jail", "frozen", "arrested"];
const MONEY: &[&str] = &["钱", "验证码", "密码", "pin", "password", "转账", "汇", "取", "存款", "罚款", "付款", "卡里", "银行", "万", "块", "手续费", "保证金", "交费", "交钱", "yuan", "rmb", "dollars", "money", "pay", "paid", "fee", "transfer", "bank", "atm", "fine", "gift card", "wire", "cash"];
const IN_PROGRESS: &[&str] = &["现在", "正在", "正要", "正准备", "正跟", "马上", "要去", "出门了", "拦", "还没挂", "还在通话", "没了", "被转走", "少了", "一下子", "刚", "已经转", "转了", "right now", "about to", "on the phone", "video call", "on a call", "now", "just lost", "just sent", "just realised", "just realized", "transferred", "blocked me", "still here", "still in", "just paid", "just gave", "已在银行", "在银行", "还在她家", "还在他家", "还在家里", "人还在"];
const FRAUD_AVERTED: &[&str] = &["挂了", "挂断", "没转", "没给", "没上当", "还好", "hung up", "didn't", "did not"];

/// Urgent cues that are about a scam asking for money, which an averted scam switches off.
const SCAM_MONEY: &[&str] = &["转账", "转钱", "安全账户", "汇款", "汇钱", "打钱", "手术费", "验证码", "冒充", "自称", "transfer money", "send money", "needs money", "gift card", "scam call"];

/// Words that announce a planned outage or maintenance.
const PLANNED: &[&str] = &["明天", "后天", "下周", "礼拜", "星期", "下个月", "next week", "tomorrow", "planned", "scheduled", "计划", "预计", "检修", "维保", "几点到几点"];
/// Cues about supply or lifts, which a planned outage explains.
const OUTAGE: &[&str] = &["停", "没电", "断电", "没水", "断水", "电梯", "power", "water", "outage", "lift", "elevator"];

/// Words right before a danger that imagine it rather than report it: "万一有人晕倒", "哪天着火".
const IMAGINED: &[&str] = &["万一", "哪天", "一旦", "如果", "要是", "以免", "防止", "免得", "容易", "肯定要", "肯定会", "迟早", "早晚会", "if ", "in case"];

/// Whether every occurrence of `cue` is imagined ("万一着火", "哪天着火").
fn only_imagined(text: &str, cue: &str) -> bool {
    let mut any = false;
    for (i, _) in text.match_indices(cue) {
        let before: String = text[..i].chars().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
        if !IMAGINED.iter().any(|h| before.contains(h)) {
            return false;
        }
        any = true;
    }
    any
}

/// Whether every occurrence of `cue` is hypothetical or denied ("担心掉下来").
fn only_hypothetical(text: &str, cue: &str) -> bool {
    let mut any = false;
    for (i, _) in text.match_indices(cue) {
        let before: String = text[..i].chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        if !HYPOTHETICAL.iter().any(|h| before.contains(h)) {
            return false;
        }
        any = true;
    }
    any
}

/// How near (in characters; three times as far for English words) a harmless context must be
/// to a floor word to switch it off.
const FLOOR_CONTEXT: usize = 12;

/// Replaces every occurrence of the phrases with as many spaces, so positions stay put.
fn mask(text: &str, phrases: &[&str]) -> String {
    let mut out = text.to_string();
    for p in phrases {
        if !p.is_empty() {
            out = out.replace(p, &" ".repeat(p.chars().count()));
        }
    }
    out
}

/// Start and end (in characters) of every occurrence of `word` in `chars`.
fn positions(chars: &[char], word: &str) -> Vec<(usize, usize)> {
    let w: Vec<char> = word.chars().collect();
    if w.is_empty() || w.len() > chars.len() {
        return Vec::new();
    }
    (0..=chars.len() - w.len()).filter(|i| chars[*i..*i + w.len()] == w[..]).map(|i| (i, i + w.len())).collect()
}

/// The sentences of a text (a comma or a space does not end one).
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split(['。', '.', '!', '?', ';', '！', '？', '；', '\n']).filter(|s| !s.trim().is_empty())
}

/// The safety floor's words found in a text. A harmless use (`灭火器`, `血压`, `猫`, `物业电话`)
/// hides the family's words in it and within a few characters of it, not in the whole report,
/// so a harmless word elsewhere in a report cannot hide a danger. Water and electrical
/// equipment in one sentence, and any alarm sounding, belong to the floor too.
fn floor_hits(text: &str, norm: &str) -> Vec<(Category, String)> {
    floor_hits_where(text, norm, |_| true, true)
}

/// The floor's hits in the families the guard protects (`FLOOR_PROTECTED`).
fn protected_floor_hits(text: &str, norm: &str) -> Vec<(Category, String)> {
    floor_hits_where(text, norm, |i| FLOOR_PROTECTED[i], false)
}

fn floor_hits_where(text: &str, norm: &str, family: impl Fn(usize) -> bool, concepts: bool) -> Vec<(Category, String)> {
    let mut hits = Vec::new();
    let norm_chars: Vec<char> = norm.chars().collect();
    for (i, (cat, words, harmless)) in FLOOR.iter().enumerate() {
        if !family(i) {
            continue;
        }
        let masks: Vec<&str> = harmless.iter().copied().filter(|h| words.iter().any(|w| h.contains(w))).collect();
        // A harmless use that `defuse` already removed (`抽烟`, `检修`) hides the family's words
        // near where it stood in the report as written, not the whole report (it used to: a
        // cigarette anywhere switched the fire family off).
        let removed: Vec<(usize, usize)> =
            harmless.iter().filter(|h| norm.contains(*h) && !text.contains(*h)).flat_map(|h| positions(&norm_chars, h)).collect();
        let removed_near = |w: &str| {
            let found = positions(&norm_chars, w);
            let reach = if w.is_ascii() { FLOOR_CONTEXT * 3 } else { FLOOR_CONTEXT };
            !removed.is_empty() && !found.is_empty() && found.iter().all(|(s, e)| removed.iter().any(|(hs, he)| he + reach >= *s && *hs <= e + reach))
        };
        // Positions of harmless uses are found before they are masked: `抽烟` explains `烟味`.
        let context = harmless;
        let unmasked: Vec<char> = text.chars().collect();
        let masked = mask(text, &masks);
        let chars: Vec<char> = masked.chars().collect();
        let near_context = |s: usize, e: usize, ascii: bool| {
            let w = if ascii { FLOOR_CONTEXT * 3 } else { FLOOR_CONTEXT };
            context.iter().any(|h| positions(&unmasked, h).into_iter().any(|(hs, he)| he + w >= s && hs <= e + w))
        };
        let hit = find(&masked, words).into_iter().find(|w| {
            !removed_near(w) && positions(&chars, w).into_iter().any(|(s, e)| !hypothetical_at(&chars, s) && !near_context(s, e, w.is_ascii()))
        });
        if let Some(w) = hit {
            hits.push((*cat, w.to_string()));
        }
    }
    if !concepts {
        return hits;
    }
    hits.extend(critical_concept_hits(&mask(text, ALARM_HARMLESS), FLOOR_CONCEPTS));
    let water = mask(text, WATER_ELECTRIC_HARMLESS);
    if let Some(hit) = sentences(&water).flat_map(|s| concept_hits(s, &WATER_ELECTRIC_SENTENCE)).next() {
        hits.push(hit);
    }
    hits
}

/// The danger net's kernel: short words that, beside a person or a word of the present, hint at
/// a danger to life, wider than any rule (`杀`, `死`, `砍`, `憋`, `kill`, `scream`). Most are
/// single characters, so wordings no rule lists still match; the floor's families are not
/// repeated here.
const NET_KERNEL: &[&str] = &[
    "救", "杀", "砍", "捅", "死", "炸", "毒", "昏", "倒", "摔", "跌", "困", "淹", "溺", "喘", "憋", "紫", "枪", "尖叫", "惨叫", "哭喊", "不醒", "不动了", "没气", "没动静", "掐", "勒", "烫伤", "烧伤", "割", "咬",
    "kill", "murder", "stab", "gun", "scream", "dying", "dead", "glass break", "breaking glass", "smash", "choke", "chok", "drown", "poison", "explo", "hurt", "injur", "bleed", "blood", "trapped", "unconscious", "collaps", "faint", "strangl",
];

/// Words for someone absent or out of reach: beside a person, a person may be missing
/// (`儿子 … 我下楼就没人了 … 都说没看到`).
const NET_ABSENT: &[&str] = &[
    "没人了", "没人影", "没影", "没看到", "没看见", "没见", "不见", "找不到", "找不着", "没找", "没回", "联系不上", "失联", "打不通", "没人接", "不接", "没人应", "没应", "去哪", "丢了",
    "missing", "can't find", "cannot find", "gone", "not back", "no sign", "nowhere", "lost", "wandered", "haven't seen", "hasn't seen", "no one has seen", "nobody has seen",
];

/// Who the danger can happen to.
const NET_PERSON: &[&str] = &[
    "老人", "爷", "奶", "大爷", "大妈", "姥", "外婆", "外公", "爸", "妈", "老伴", "老公", "老婆", "孩子", "小孩", "儿子", "女儿", "宝宝", "孙", "邻居", "阿姨", "叔", "他", "她", "人", "岁", "我们", "咱",
    " he ", " we ", " us ", " i'm ", "i am ", " she ", "he's", "she's", " him", " her ", "man", "woman", "kid", "child", " son", "daughter", "baby", "wife", "husband", "mum", "mom", "dad", "grand", "neighbo", "someone", "somebody", "people", "boy", "girl", "lady", "guy",
];

/// Words of the present, which make a kernel word an event rather than a topic.
const NET_NOW: &[&str] = &["现在", "刚才", "刚刚", "正在", "突然", "马上", "快来", "一直", "还在", "还没", "now", "just", "still", "keeps", "going on", "i hear", "can hear"];

/// Uses of the kernel and absence words that are harmless, masked where they stand: idioms
/// (`吵死`, `堵死`), rubbish being dumped (`倒垃圾`), a slammed door, things that cannot be
/// heard or seen, someone at the office not answering, an appliance that cannot suck.
const NET_HARMLESS: &[&str] = &[
    "吵死", "烦死", "熏死", "臭死", "恶心死", "热死", "冷死", "累死", "急死", "气死", "笑死", "堵死", "卡死", "锁死", "死角", "死胡同", "死老鼠", "死鱼", "死了好多", "死了很多", "死猫", "死狗", "死鸟", "死虫", "树死", "草死",
    "倒垃圾", "倒在一起", "乱倒", "偷倒", "倒建筑", "倒伏", "倒是", "倒车", "倒闭", "倒掉", "倒水", "倒了好几", "倒过", "没人倒", "倒霉", "绊倒过",
    "呛死", "晒死", "渴死", "忙死",
    "咬坏", "咬烂", "咬穿", "咬了个洞", "炸辣椒", "炸鱼", "油炸", "炸东西", "炸串", "炸丸子", "炸酱",
    "摔门", "地摔", "门摔", "防摔", "防跌", "摔坏", "摔碎", "摔过", "跌倒过", "摔东西",
    "听不见", "看不见", "装听不见", "水带不见", "困难", "困了", "犯困", "困扰", "救护站", "急救培训", "急救知识", "救生", "消毒", "毒蚊", "杀虫", "杀蟑", "杀一下", "统一杀", "杀一杀", "砍树", "砍掉", "砍价", "灭鼠", "蚊子咬", "虫咬", "狗咬",
    "社区电话", "居委", "物业", "网格员电话", "热线", "客服", "办事", "不接单", "紫外线", "紫色", "割草", "割韭菜",
    "dead battery", "dead bulb", "dead light", "dead rat", "dead bird", "dead tree", "dead plant", "battery is dying", "battery dying", "lost my key", "lost my card", "lost cat", "lost dog", "is gone off", "gone up", "gone down", "gone bad",
];

/// Contexts that show a kernel or absence word near them is ordinary: the community's own phone
/// not answered, a form to apply for, rubbish dumped, an appliance that cannot lift or suck.
const NET_CONTEXT: &[&str] = &["社区电话", "居委", "物业", "热线", "客服", "办事", "网格员电话", "申请", "补贴", "想问", "咨询", "办理", "去哪里办", "去哪办", "怎么弄", "吸不动", "拎不动", "拿不动", "搬不动", "垃圾", "天天", "每天", "每晚", "经常", "老是", "总是", "office", "hotline", "apply", "every day", "every night"];

/// The danger net's cues: a report the rules leave `normal` is raised to `urgent` (never
/// further, and never from `low`) if it has a kernel word beside a person or a word of the
/// present, or a word for someone absent beside a person, outside a hypothetical, denied or
/// past clause and not in a harmless use. Broad by design: it is a net under the rules, for
/// the wordings they do not know yet, and ordinary reports it raises are the price.
/// With `weak`, the person or present word is not required (for a report the critical-versus-
/// rest model already finds likely).
pub fn danger_net(norm: &str, weak: bool) -> Option<String> {
    let text = defuse(norm);
    if !find(&text, OVER).is_empty() {
        return None;
    }
    let masked = mask(&text, NET_HARMLESS);
    let chars: Vec<char> = masked.chars().collect();
    let unmasked: Vec<char> = text.chars().collect();
    let person = weak || NET_PERSON.iter().any(|w| masked.contains(w));
    let now = weak || NET_NOW.iter().any(|w| masked.contains(w));
    let near_context = |s: usize, e: usize| {
        NET_CONTEXT.iter().any(|h| positions(&unmasked, h).into_iter().any(|(hs, he)| he + FLOOR_CONTEXT >= s && hs <= e + FLOOR_CONTEXT))
    };
    let live = |w: &str| {
        positions(&chars, w).into_iter().any(|(s, e)| !hypothetical_at(&chars, s) && !near_context(s, e)) && !hypothetical_clause(&masked, w) && !told_as_past(&masked, w)
    };
    if person || now {
        if let Some(w) = NET_KERNEL.iter().find(|w| live(w)) {
            return Some(w.to_string());
        }
    }
    if person {
        if let Some(w) = NET_ABSENT.iter().find(|w| live(w)) {
            return Some(w.to_string());
        }
    }
    None
}

/// Whether the few characters before `start` make what follows hypothetical or denied.
fn hypothetical_at(chars: &[char], start: usize) -> bool {
    let before: String = chars[start.saturating_sub(4)..start].iter().collect();
    HYPOTHETICAL.iter().any(|h| before.contains(h))
}

fn concept_hits(text: &str, concepts: &'static [Concept]) -> Vec<(Category, String)> {
    concept_hits_in(text, concepts, false)
}

/// Like [`concept_hits`] for the concepts that make a report critical, whose exceptions hide
/// only a match near them (within `FLOOR_CONTEXT`), never the whole report: `快递` at the end
/// of a report does not hide "敲门没人应, 两天了" at its start.
fn critical_concept_hits(text: &str, concepts: &'static [Concept]) -> Vec<(Category, String)> {
    concept_hits_in(text, concepts, true)
}

fn concept_hits_in(text: &str, concepts: &'static [Concept], local: bool) -> Vec<(Category, String)> {
    let chars: Vec<char> = text.chars().collect();
    let positions = |word: &str| positions(&chars, word);
    let hypothetical = |start: usize| hypothetical_at(&chars, start);
    let mut hits = Vec::new();
    for c in concepts {
        if !local && c.unless.iter().any(|u| text.contains(u)) {
            continue;
        }
        let exceptions: Vec<(usize, usize, bool)> =
            if local { c.unless.iter().flat_map(|u| positions(u).into_iter().map(move |(s, e)| (s, e, u.is_ascii()))).collect() } else { Vec::new() };
        let excepted = |a: usize, b: usize| exceptions.iter().any(|(s, e, ascii)| {
            let w = if *ascii { FLOOR_CONTEXT * 3 } else { FLOOR_CONTEXT };
            *e + w >= a && *s <= b + w
        });
        let mut found: Option<String> = None;
        'search: for t in c.things {
            // English words are longer than Chinese characters: the window is wider.
            let window = if t.is_ascii() { c.window * 3 } else { c.window };
            for (ts, te) in positions(t) {
                for f in c.failures {
                    for (fs, fe) in positions(f) {
                        let near = (fs >= te && fs - te <= window) || (ts >= fe && ts - fe <= window) || (fs < te && fe > ts);
                        if near && !hypothetical(fs) && !excepted(ts.min(fs), te.max(fe)) {
                            let (a, b) = (ts.min(fs), te.max(fe));
                            found = Some(if b - a <= 12 && !t.is_ascii() { chars[a..b].iter().collect::<String>().trim().to_string() } else { format!("{}…{}", t.trim(), f.trim()) });
                            break 'search;
                        }
                    }
                }
            }
        }
        if let Some(phrase) = found {
            hits.push((c.category, phrase));
        }
    }
    hits
}

/// Clauses that deny a cue ("没闻到什么味道", "里面没人"): removed up to the end of the clause.
const DENIALS: &[&str] = &["无人被", "没有人员", "无人员", "无人受伤", "没人受伤", "nothing smells", "no one hurt", "nobody hurt", "no one was hurt", "nobody was hurt", "没闻到", "没有闻到", "闻不到", "没什么味", "没有味", "没味道", "没有异味", "没有人被", "没人被", "没着火", "没有着火", "没起火", "没冒烟", "没有冒烟", "没人关", "没有人关", "没人困", "没人在里", "无人被困", "no smell", "doesn't smell", "can't smell", "nobody inside", "no one inside", "nobody trapped", "no one trapped", "nobody is trapped", "no one is trapped"];

fn strip_denials(text: &str) -> String {
    let mut out = text.to_string();
    for d in DENIALS {
        while let Some(i) = out.find(d) {
            let rest = &out[i..];
            let end = rest.char_indices().skip(d.chars().count()).find(|(_, c)| matches!(c, ',' | '，' | '。' | '.' | '!' | '?' | ' ' | ';' | '、')).map(|(j, _)| i + j).unwrap_or(out.len());
            out.replace_range(i..end, " ");
        }
    }
    out
}

/// Words that make a danger the topic of an idea or a question rather than an event: a talk, a
/// training, a campaign (`能不能宣传一下一氧化碳中毒`, `建议组织一次急救培训`).
const TOPIC: &[&str] = &["宣传", "培训", "讲座", "科普", "普及", "知识", "演练", "演习", "教大家", "课", "awareness", "training", "workshop", "lecture", "a talk", "drill", "course"];

/// Words that tell a threat as spoken or sent, which keeps it a present danger even when it
/// names a later time or reads like a conditional (`放话说明天带人来砍我`, `said he would kill`).
const SPOKEN: &[&str] = &["说", "放话", "扬言", "威胁", "留话", "留言", "纸条", "发消息", "短信", "喊", "骂", "said", "says", "told", "threat", "yelling", "shouting", "message", "note"];

/// Whether the clause (as `hypothetical_clause` cuts it) that holds `phrase` has one of `words`.
fn clause_has(norm: &str, phrase: &str, words: &[&str]) -> bool {
    clause_of(norm, phrase).is_some_and(|clause| words.iter().any(|w| clause.contains(w)))
}

/// Words beside a danger that make it the subject of an idea: equipment to install, steps to post,
/// what would happen (`小孩摔了不疼`).
const IDEA_CONTEXT: &[&str] = &["装", "铺", "贴", "配", "设", "报警器", "手环", "步骤", "时的", "的时候", "不疼", "不会", "install", "fit ", "put up", "sign"];

/// Critical cues outside the guard's families: gas, alarms and electricity are dangers to life too,
/// but an idea about them (`建议装个燃气报警器`) names them without any event.
const UNGUARDED: &[&str] = &["煤气", "燃气", "天然气", "煤汽", "燃汽", "液化气", "瓦斯", "气罐", "漏气", "泄漏", "嘶", "臭鸡蛋", "报警", "警报", "一氧化碳", "炭", "煤炉", "中毒", "电", "插", "开关", "线", "gas", "alarm", "detector", "carbon", "hiss", "rotten", "wire", "socket", "shock", "spark", "arcing", "electr"];
/// Critical repair cues the guard keeps: someone trapped.
const TRAPPED: &[&str] = &["困", "关在", "卡在", "里面", "里头", "里边", "出不来", "扒不开", "trapped", "stuck", "inside", "shut in", "locked in", "can't get out"];

/// The guard: cues of harm to a person, violence or a threat, fire, a weapon, or a missing,
/// unresponsive or trapped person (every critical cue, and the floor's families of the same
/// kinds) that the report tells as happening, not as history (`present`), imagined in a
/// hypothetical clause (`万一哪天着火`), or named as the topic of a talk or training. A threat
/// told as spoken is present even in a conditional clause or with a later time. No path that
/// lowers a report (an idea, praise or thanks; a planned time; a habit; a battery; a drill)
/// takes a report with a guarded cue below urgent.
fn guarded(norm: &str, cues: &[(Category, String)]) -> Vec<(Category, String)> {
    cues.iter()
        .filter(|(c, p)| match c {
            Care => true,
            Safety => !UNGUARDED.iter().any(|w| p.contains(w)),
            _ => TRAPPED.iter().any(|w| p.contains(w)),
        })
        .filter(|(_, p)| {
            let threat = VIOLENCE.iter().chain(["杀", "砍", "捅", "放火", "烧", "kill", "burn", "hurt", "stab"].iter()).any(|v| p.contains(v)) && clause_has(norm, p, SPOKEN);
            (threat || !hypothetical_clause(norm, p)) && !clause_has(norm, p, TOPIC)
        })
        .cloned()
        .collect()
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

fn decided<S: AsRef<str>>(urgency: Urgency, cues: &[(Category, S)]) -> UrgencyDecision {
    UrgencyDecision {
        urgency,
        reasons: cues.iter().take(3).map(|(_, c)| Reason { phrase: c.as_ref().to_string(), supports: format!("urgency:{}", urgency.code()) }).collect(),
        hints: cues.iter().map(|(cat, _)| *cat).collect(),
    }
}

/// The urgency of a normalised text, with the cues that decided it.
pub fn urgency(norm: &str) -> UrgencyDecision {
    let text = defuse(norm);
    let now = !find(&text, NOW).is_empty();
    let over = !find(&text, OVER).is_empty();
    let past = over || !find(&text, PAST).is_empty();
    let praise = find(&text, PRAISE);
    let thanks = find(&text, THANKS);
    let mut suggestion = find(&text, SUGGESTION);
    // "想给他弄个手环" asks for something for one person: a request, not an idea.
    if ["想给", "给我", "给他", "给她", "帮我"].iter().any(|w| text.contains(w)) {
        suggestion.retain(|w| !["弄个", "搞个"].contains(w));
    }
    // A grid worker's "建议安排清理" asks for a case to be handled: a request, not an idea.
    if ["建议安排", "建议派", "建议尽快", "建议上门", "建议及时"].iter().any(|w| text.contains(w)) {
        suggestion.retain(|w| *w != "建议");
    }
    let defect = !find(&text, DEFECT).is_empty() || cannot(&text);
    let wish = if defect { Vec::new() } else { find(&text, WISH) };
    let mut praise = praise;
    if !defect {
        praise.extend(find(&text, MILD_PRAISE));
    }

    let mut critical = find_grouped(&text, CRITICAL);
    // "纸箱哪天着火", "万一有人晕倒": a danger imagined, not told. A worry (`担心他摔倒了`) still counts.
    critical.retain(|(_, p)| !only_imagined(&text, p));
    // Water reaching electricity is a repair inside a building, municipal outdoors (rule 5),
    // even when it sparks: the water is what has to be dealt with.
    let water = mask(&text, WATER_ELECTRIC_HARMLESS);
    let water_electric = concept_hits(&water, std::slice::from_ref(&WATER_ELECTRIC)).into_iter().chain(concept_hits(&water, std::slice::from_ref(&WATER_ELECTRIC_EN)));
    let sparks = critical_concept_hits(&text, std::slice::from_ref(&SPARKS));
    let gas_leak = critical_concept_hits(&text, std::slice::from_ref(&GAS_LEAK));
    // A gas word and a smell word anywhere in the report ("厨房味道怪怪的,像是天然气").
    let gas = ["煤气", "燃气", "天然气", "煤汽", "燃汽", "天燃气", "然气", "液化气", "瓦斯", "gas"].into_iter().find(|g| text.contains(g));
    let smell = ["味", "闻", "smell"].iter().any(|w| text.contains(w));
    if let (Some(g), true) = (gas, smell) {
        if critical.iter().all(|(c, _)| *c != Safety) {
            critical.push((Safety, g));
        }
    }
    let mut urgent: Vec<(Category, String)> =
        find_grouped(&text, URGENT).into_iter().filter(|(_, p)| !only_hypothetical(&text, p)).map(|(c, p)| (c, p.to_string())).collect();
    if let Some(t) = find(&text, TODAY).first() {
        urgent.push((Living, t.to_string()));
    }
    let mut critical: Vec<(Category, String)> = critical.into_iter().map(|(c, p)| (c, p.to_string())).collect();
    critical.extend(critical_concept_hits(&text, CRITICAL_CONCEPTS));
    critical.extend(gas_leak);
    if let Some((_, phrase)) = water_electric.take(1).next() {
        let outdoors = ["变压器", "箱变", "路边", "马路", "路上", "街上", "路口", "红绿灯", "信号灯", "路灯", "灯杆", "人行道", "行人", "transformer", "substation", "street", "road", "lamp post", "lamppost", "light pole", "traffic light", "pavement", "sidewalk", "junction"].iter().any(|w| text.contains(w));
        // Sparks and flashes are how the water shows itself here, not a separate fire.
        critical.retain(|(_, p)| !SPARK_WORDS.iter().any(|w| p.contains(w)));
        critical.insert(0, (if outdoors { Municipal } else { Repair }, phrase));
    } else {
        critical.extend(sparks);
        // A shock where water reached electricity is how the water shows itself (rule 5).
        critical.extend(shock_hits(&text));
    }
    urgent.extend(concept_hits(&text, URGENT_CONCEPTS));
    // A wheelchair that cannot get over a step or a threshold asks for an adaptation (normal/care),
    // not a broken door.
    if ["轮椅", "台阶", "门槛", "坡道", "wheelchair"].iter().any(|w| text.contains(w)) {
        urgent.retain(|(_, p)| !["进不去", "出不去", "进不了", "出不了"].iter().any(|w| p.contains(w)));
    }
    critical.extend(critical_concept_hits(&mask(&text, ALARM_HARMLESS), ALARM_CONCEPTS));
    let poisoning = critical_concept_hits(&mask(&text, ALARM_HARMLESS), std::slice::from_ref(&POISONING));
    let poisoned = !poisoning.is_empty();
    critical.extend(poisoning);
    // Water escaping in the street is the water main, a municipal matter.
    let street = ["马路", "路上", "街上", "路面", "路口", "路中间", "整条路", "人行道", "street", "road"].iter().any(|w| text.contains(w));
    let indoors = ["楼道", "家里", "厨房", "卫生间", "地下室", "单元", "楼梯", "屋里", "客厅", "车库"].iter().any(|w| text.contains(w));
    if street && !indoors {
        for (cat, phrase) in urgent.iter_mut() {
            if *cat == Repair && (phrase.contains('水') || phrase.contains('管') || phrase.contains("water")) {
                *cat = Municipal;
            }
        }
    }
    // A planned outage or maintenance is a question about a notice, not a failure now.
    if !now && !find(&text, PLANNED).is_empty() {
        urgent.retain(|(_, p)| !OUTAGE.iter().any(|w| p.contains(w)));
    }
    // A scam that was seen through (the call hung up, no money sent) is not urgent (rule 7).
    if !find(&text, FRAUD_AVERTED).is_empty() {
        urgent.retain(|(c, p)| !(*c == Safety && SCAM_MONEY.iter().any(|w| p.contains(w))));
    }
    let fraud = find(&text, FRAUD);
    if !fraud.is_empty() && !find(&text, MONEY).is_empty() && find(&text, FRAUD_AVERTED).is_empty() {
        if let Some(p) = find(&text, IN_PROGRESS).first() {
            urgent.push((Safety, format!("{}…{}", fraud[0], p)));
        }
    }
    // The safety floor comes last, so that no filter above (a planned outage, an averted scam)
    // can take it away: only an idea, thanks, a danger told as history, or a denial can.
    let floor = floor_hits(&text, norm);
    urgent.extend(floor.iter().cloned());
    let protected_floor = protected_floor_hits(&text, norm);

    // A danger told as history is ordinary unless the report says it is happening now. A time
    // word (`上次`, `以前`) takes only the cues in its scope into the past; a word that says it
    // is over (`找到了`, `修好了`) takes the whole report.
    let all_current = now || !find(&text, PRESENT).is_empty() || !past;
    let present = |cues: &[(Category, String)]| -> Vec<(Category, String)> {
        if all_current {
            cues.to_vec()
        } else if over {
            Vec::new()
        } else {
            cues.iter().filter(|(_, p)| !told_as_past(&text, p)).cloned().collect()
        }
    };
    let critical = present(&critical);
    let urgent = present(&urgent);
    // The guard (see `guarded`): what no path below may take under urgent.
    let guard_critical = guarded(norm, &critical);
    let guard = if guard_critical.is_empty() { guarded(norm, &present(&protected_floor)) } else { guard_critical.clone() };

    // An idea, praise, or thanks for something over is not an emergency whatever it mentions.
    // A wish alone ("我觉得", "希望") does not hide a present life-safety cue, and no idea or
    // praise hides one told before it ("老人摔倒了起不来 … 非常感谢"): it speaks of the
    // danger, not of a proposal.
    let wish_only = suggestion.is_empty() && praise.is_empty() && !wish.is_empty();
    // A danger in a hypothetical clause (`我担心冬天有老人烧炭出事 能不能宣传一下`) is the topic of the wish.
    let told = critical.iter().any(|(_, p)| !hypothetical_clause(norm, p) && !clause_has(norm, p, TOPIC));
    let idea = !suggestion.is_empty() || (!wish.is_empty() && !(wish_only && told)) || !praise.is_empty();
    // Only a critical cue counts here (the floor's words are too loose: `燃气安全宣传 … 建议`),
    // and not one in a hypothetical clause (`万一哪天着火`), nor in a report that says it is over.
    let first = |words: &[&str]| words.iter().map(|w| cue_at(&text, w).0).min().unwrap_or(usize::MAX);
    let danger_before = |at: usize| !over && critical.iter().any(|(_, p)| cue_at(&text, p).0 < at && !hypothetical_clause(norm, p) && !clause_has(norm, p, TOPIC));
    let idea_first = !danger_before(first(&[suggestion.as_slice(), wish.as_slice(), praise.as_slice()].concat()));
    // Thanks for something over stays low, unless a present danger is told before the thanks
    // or in words of the present (`谢谢上次帮忙, 我爸刚才又摔倒了`).
    let thanks_over = !thanks.is_empty() && past && (critical.is_empty() || over || (find(&text, PRESENT).is_empty() && !danger_before(first(&thanks))));
    // An idea is not an event: a guarded cue in the clause that makes the proposal, or beside
    // equipment to install or instructions to post (`建议给独居老人装跌倒报警器`), is its topic.
    let idea_words: Vec<&str> = [suggestion.as_slice(), wish.as_slice(), praise.as_slice(), IDEA_CONTEXT].concat();
    let guard_event: Vec<(Category, String)> = guard.iter().filter(|(_, p)| !clause_has(norm, p, &idea_words)).cloned().collect();
    if ((idea && idea_first) || thanks_over) && !now && guard_event.is_empty() {
        let cue = suggestion.first().or(wish.first()).or(praise.first()).or(thanks.first()).copied().unwrap_or_default();
        return decided(Urgency::Low, &[(Suggestion, cue)]);
    }
    if !critical.is_empty() {
        let mut d = decided(Urgency::Critical, &critical);
        // A hazard that hurts someone is a safety case, and so is a missing child (rule 6).
        let child = CHILD.iter().any(|c| text.contains(c)) && !find(&text, MISSING).is_empty();
        let violence = !find(&text, VIOLENCE).is_empty();
        if child || violence || d.hints.contains(&Safety) {
            d.hints.retain(|h| *h != Care);
            d.hints.push(Safety);
        }
        // Poisoning is safety however much the report says about the heater (rule 6).
        if poisoned {
            d.hints.retain(|h| *h != Repair);
            d.hints.extend([Safety, Safety]);
        }
        return d;
    }
    if !urgent.is_empty() {
        return decided(Urgency::Urgent, &urgent);
    }
    if !guard.is_empty() {
        return decided(Urgency::Urgent, &guard);
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
    (Repair, 3.0, &["楼道扶手", "楼梯扶手", "走廊扶手", "handrail"]),
    (Repair, 2.0, &["楼道灯", "声控灯", "感应灯", "灯泡", "灯不亮", "灯坏", "单元门", "防盗门", "防盗窗", "门锁", "门禁", "对讲", "门铃",
        "水管", "水龙头", "漏水", "渗水", "滴水", "墙皮", "脱落", "屋顶", "天花板", "楼顶", "防水", "窗户", "纱窗", "玻璃", "电梯", "扶手",
        "信箱", "燃气灶", "热水器", "马桶", "地漏", "厨房下水", "卫生间", "下水管", "滴滴响", "换电池", "阀门", "熏得", "熏黑",
        "水箱", "水泵", "水压", "晾衣", "开裂", "裂缝", "瓷砖", "外墙", "卷帘门", "车库", "暖气管", "刷一下", "粉刷", "健身器材坏", "长椅",
        "light", "lamp", "bulb", "door", "lock", "pipe", "tap", "faucet", "leak", "ceiling", "window", "lift", "elevator", "stove", "roof"]),
    // General words for "fix it" that say little about what is broken.
    (Repair, 0.8, &["维修", "报修", "修一下", "修理", "坏了", "断了", "破了", "换一个", "repair", "broken", "fix"]),
    (Municipal, 2.5, &["那段路", "全是坑", "大坑", "路上", "路灯", "马路", "道路", "路面", "坑洼", "井盖", "窨井", "雨水", "排水", "积水", "人行道", "公交站", "红绿灯", "信号灯",
        "斑马线", "盲道", "桥", "市政", "路口", "围挡", "占道", "下水道", "倒灌", "树倒", "树枝", "大树", "街上", "路边", "路中间", "施工", "路灯杆", "变压器",
        "street light", "streetlight", "road", "pothole", "manhole", "drain", "pavement", "sidewalk", "bus stop", "traffic", "street", "tree"]),
    (Sanitation, 3.0, &["老鼠", "蟑螂", "蚊子", "苍蝇", "白蚁", "虫子", "rats", "cockroach", "mosquito"]),
    (Sanitation, 2.0, &["垃圾", "垃圾桶", "垃圾分类", "臭", "异味", "杂草", "落叶", "狗屎", "狗粪", "粪便",
        "卫生", "脏", "清扫", "小广告", "化粪池", "污水", "粪水", "堆满", "清运", "草坪", "塑料袋", "漂着", "泡沫", "针头", "打药", "消杀",
        "rubbish", "garbage", "trash", "litter", "bin", "bins", "smell", "stink", "weeds", "rats", "rat", "cockroach", "dog poo", "dirty", "sewage", "mosquito"]),
    (Safety, 2.5, &["跑不出去", "逃不出去", "逃生", "堵住通道", "堵了通道", "煤气", "燃气", "天然气", "着火", "起火", "火灾", "冒烟", "浓烟", "烧起来", "火挺大", "消防", "灭火器", "消防通道", "安全出口",
        "电瓶车", "电动车", "充电", "飞线", "私拉电线", "诈骗", "骗子", "被骗", "骗", "转账", "冒充", "中奖", "保健品", "治百病", "陌生人",
        "可疑", "转悠", "不像住户", "链接", "link", "是不是骗", "小偷", "偷", "撬", "监控", "隐患", "高空抛物", "触电", "漏电", "电线", "铜线", "一氧化碳", "打人", "刀", "砍", "弄死",
        "威胁", "汽油", "易燃", "煤汽", "燃汽", "天燃气", "液化气", "冒火", "黑烟", "浓烟", "着了", "燎", "火苗", "火星", "救命", "砸东西", "打起来", "fake", "transferred", "customer service", "烧炭", "煤炉", "炭火", "杂物", "一点火", "大狗", "咬伤", "咬人", "孩子不见", "小孩不见", "找不到了", "没回家",
        "gas", "fire", "smoke", "scam", "fraud", "stranger", "suspicious", "theft", "stolen", "burglar", "e-bike", "charging", "fire exit",
        "unsafe", "danger", "knife", "threatening", "wire", "chained"]),
    (Living, 2.0, &["药店", "带点药", "带药", "捎", "自己买的", "pharmacy", "买菜", "菜价", "代买", "买药", "送药", "取药", "代取", "配药", "跑腿", "送餐", "助餐", "吃饭", "家政", "钟点工", "上门保洁",
        "上门理发", "做保洁", "保洁", "打扫", "阿姨", "电视机", "没信号", "跑一趟", "拎不动", "送菜", "溜出去", "top up", "electricity card", "cat", "collar", "dog", "poodle", "理发", "剪头发", "取个药", "油烟机", "上门清洗", "清洗", "跑丢", "猫", "狗狗", "快递", "外卖", "搬家", "换煤气罐", "家电", "电饭煲", "冰箱", "洗衣机", "电视", "宽带", "上门服务", "团购", "便民",
        "送饭", "送个饭", "蔬菜", "超市", "缴费", "代缴", "水电费", "充值", "没有吃的", "吃的", "寻狗", "寻猫",
        "groceries", "grocery", "vegetables", "shopping", "medicine", "errand", "delivery", "meal", "haircut", "cleaning", "parcel",
        "appliance", "washing machine", "food"]),
    (Care, 3.0, &["装扶手", "装个扶手", "加个扶手", "安扶手", "防走失", "智能手环", "助浴", "上门体检", "适老化"]),
    (Care, 2.0, &["摔过", "中过风", "家庭医生", "胸闷", "坡道", "扶手", "适老化", "防滑", "智能手环", "老人", "老年人", "独居", "空巢", "孤寡", "大爷", "大妈", "奶奶", "爷爷", "老太太", "老大爷", "老伴", "摔倒", "跌倒", "晕倒",
        "手环", "探访", "上门看看", "残疾", "听障", "手语", "轮椅", "失能", "卧床", "瘫痪", "看护", "陪护", "体检", "血压", "降压药", "慢性病", "助行器", "拐杖", "护理床",
        "敲门没人", "没人应", "好几天没", "老两口", "冻病", "冰窖", "应门", "叫不醒", "喊不醒", "走失", "没动静", "电话不接", "不接电话", "电话一直不接", "老母亲", "老父亲", "行动不便", "养老", "透析", "sos",
        "elderly", "old man", "old lady", "old woman", "grandma", "grandpa", "grandmother", "grandfather", "lives alone", "living alone",
        "fallen", "fell", "collapsed", "unconscious", "can't wake", "won't wake", "not responding", "wheelchair", "disabled", "wristband", "check on", "heating"]),
    (Dispute, 0.8, &["楼上", "楼下", "upstairs"]),
    // A neighbour who will not fix what leaks into another flat (rule 8).
    (Dispute, 3.0, &["就是不肯", "不肯修", "不愿意修", "不给修", "不配合", "next door", "won't fix"]),
    (Dispute, 2.5, &["邻居", "楼上的", "楼下的", "对门", "隔壁", "对面楼", "吵", "噪音", "吵架", "纠纷", "矛盾", "装修", "狗叫", "占用", "占车位",
        "停车位", "车位", "私占", "不让", "不肯", "拒绝", "协商", "调解", "扯皮", "骂", "不管", "就是不修", "不修", "不肯修", "说了好几次", "说了好几回", "好几回", "不理", "不搭理", "全占了", "占了", "不听", "跟他说", "不关他", "不开", "不承认", "不开门", "激光笔", "推搡",
        "neighbour", "neighbor", "noise", "noisy", "loud", "argue", "argument", "dispute", "parking space", "barking", "refuses"]),
    (Consult, 2.5, &["怎么办理", "如何办理", "办理", "咨询", "请问", "问一下", "想问", "政策", "补贴", "居住证明", "居住证", "社保", "医保",
        "报销", "老年证", "老年卡", "户口", "户籍", "落户", "租房备案", "备案", "证明", "材料", "需要带", "流程", "低保申请", "残疾证", "养老金",
        "退休", "手续", "申请", "怎么弄", "哪里办", "资格", "办什么", "要办", "会不会", "罚款", "在哪里交", "哪里交", "怎么交", "网上能",
        "什么时候结束", "几点到几点", "通知", "上班时间", "办公时间", "上牌", "开门吗", "上班吗", "几点", "检修", "停多久", "都停吗", "planned", "when is",
        "how do i", "how can i", "how to apply", "certificate", "residence permit", "social insurance", "medical insurance", "reimbursement",
        "subsidy", "policy", "registration", "documents", "where can i", "apply", "what time", "office hours"]),
    // The service itself: a case marked done that is not (rule 16).
    (Suggestion, 3.5, &["已办结", "显示办结", "显示已解决", "显示解决", "标记为已", "marked as solved", "marked as resolved", "marked as done", "closed the case"]),
    (Suggestion, 2.0, &["建议", "希望", "能不能增加", "可不可以", "提议", "意见", "增设", "增加", "多装", "感谢", "谢谢", "表扬", "点赞",
        "点个赞", "好评", "辛苦", "锦旗", "活动室", "应该规定", "没人回", "不回复", "没人理", "投诉", "没人回复", "已解决", "根本没", "登录不上", "app", "小程序", "提交不上", "没人接", "反映了", "管不管", "找不到人", "居委会电话", "一直没来", "说要来", "reported",
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
    // A hazard or violence that hurts someone is a safety case, not care (rule 6).
    if d.urgency == Urgency::Critical && d.hints.contains(&Safety) && !d.hints.contains(&Care) {
        scores[Care.index()] -= 2.0;
    }
}
