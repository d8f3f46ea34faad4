//! The demo stories: written for Newsdesk's demo, about an imagined grid
//! company's units, so a new installation shows a living portal.

pub struct DemoStory {
    pub channel: &'static str,
    pub unit: &'static str,
    pub writer: &'static str,
    pub hours_ago: i64,
    pub kicker: &'static str,
    pub title: &'static str,
    pub subtitle: &'static str,
    pub summary: &'static str,
    pub author_byline: &'static str,
    pub correspondents: &'static str,
    pub source: &'static str,
    pub headline: bool,
    pub tags: &'static str,
    pub body: &'static str,
}

pub const STORIES: &[DemoStory] = &[
    DemoStory {
        channel: "yaowen",
        unit: "国网山东电力",
        writer: "tongxunyuan1",
        hours_ago: 2,
        kicker: "迎峰度冬",
        title: "山东电网全力保障冬季电力供应",
        subtitle: "全省统调最大负荷预计同比增长百分之六",
        summary: "入冬以来，国网山东电力提前部署迎峰度冬各项工作，加强设备巡视与应急值守，确保群众温暖过冬。",
        author_byline: "本报记者 王晓峰",
        correspondents: "李明 赵雪",
        source: "电网新闻网",
        headline: true,
        tags: "迎峰度冬，电力保供",
        body: "<p><strong>本报讯</strong> 入冬以来，国网山东电力提前部署迎峰度冬各项工作，组织各级单位开展设备隐患排查，加强负荷预测和电网运行方式安排，全力保障冬季电力可靠供应。</p>\
<h2>一、提前排查，消除隐患</h2>\
<p>十一月上旬起，公司组织运维人员对全省五百千伏及以上变电站和重要输电通道开展特巡特护，累计巡视线路一万两千余公里，发现并消除各类缺陷三百余处。针对覆冰、大风等恶劣天气，公司在重点区段加装了在线监测装置，实现覆冰情况实时掌握。</p>\
<h2>二、精准预测，科学调度</h2>\
<p>调度控制中心结合气象部门的中长期预报，滚动开展负荷预测。预计今冬全省统调最大负荷同比增长约百分之六。公司积极协调省外来电，优化机组检修计划，确保发电能力满足高峰需求。</p>\
<h2>三、贴心服务，温暖过冬</h2>\
<p>各地供电公司深入社区、乡村开展“暖冬行动”，为清洁取暖用户提供用电安全检查，帮助孤寡老人更换老化线路。截至目前，已走访用户两万余户。</p>\
<p>“我们将以最高标准、最严要求做好保供工作，让千家万户用上放心电、温暖电。”公司相关负责人表示。</p>",
    },
    DemoStory {
        channel: "qiye-fengcai",
        unit: "带电作业中心",
        writer: "tongxunyuan1",
        hours_ago: 26,
        kicker: "",
        title: "带电作业班组：在高压线上守护万家灯火",
        subtitle: "",
        summary: "威海带电作业中心的十二名队员常年奔波在高压线路上，以不停电作业减少用户停电时间。",
        author_byline: "通讯员 李明",
        correspondents: "",
        source: "国网威海供电公司",
        headline: false,
        tags: "带电作业，班组风采",
        body: "<p>清晨六点，威海带电作业中心的工作车已经驶出车库。今天，班组要在一条十千伏线路上更换老化的绝缘子，而线路上的用户不会因此停电。</p>\
<h2>毫米之间见真功</h2>\
<p>带电作业被称为“刀尖上的舞蹈”。作业人员穿着屏蔽服，在绝缘斗臂车上与带电导线近距离接触，每一个动作都要精确到毫米。班长张海涛说：“我们的规矩是，每一步都要想清楚再动手，宁可慢一点，也绝不能错一步。”</p>\
<p>近三年来，中心累计开展不停电作业四千余次，减少停电时户数十余万，相当于让一座中等城市的居民少停电一整天。</p>\
<h2>传帮带里出精兵</h2>\
<p>中心坚持“师带徒”培养模式，老师傅手把手传授操作要领。去年，两名年轻队员在省公司技能竞赛中获得团体一等奖。</p>\
<p>夕阳西下，作业顺利完成。线路下的小区里，一盏盏灯陆续亮起。</p>",
    },
    DemoStory {
        channel: "dianwang-jianshe",
        unit: "国网江苏电力",
        writer: "tongxunyuan2",
        hours_ago: 50,
        kicker: "重点工程",
        title: "苏南五百千伏输变电工程全线贯通",
        subtitle: "新增变电容量二百万千伏安，将有效缓解区域供电压力",
        summary: "历时十八个月建设，苏南五百千伏输变电工程近日全线贯通，为区域经济发展提供坚强电力支撑。",
        author_byline: "本报记者 陈静 摄影 周强",
        correspondents: "孙悦",
        source: "电网新闻网",
        headline: false,
        tags: "电网建设，重点工程",
        body: "<p><strong>本报讯</strong> 近日，苏南五百千伏输变电工程最后一基铁塔完成架线，标志着工程全线贯通。工程投运后，将新增变电容量二百万千伏安，有效缓解苏南地区迎峰度夏期间的供电压力。</p>\
<h2>攻坚克难保进度</h2>\
<p>工程线路跨越河流、高速公路和铁路共计三十余处，施工难度大。建设团队采用无人机展放导引绳、智能张力放线等新技术，比计划工期提前二十天完成架线任务。</p>\
<h2>绿色施工护生态</h2>\
<p>在穿越湿地保护区的区段，工程采用高跨设计减少占地，施工结束后及时开展植被恢复，做到“工完、料尽、场地清”。</p>\
<p>据悉，工程将于年底前完成全部调试工作并正式投运。</p>",
    },
    DemoStory {
        channel: "jiceng-dongtai",
        unit: "国网苏州供电公司",
        writer: "tongxunyuan2",
        hours_ago: 75,
        kicker: "",
        title: "苏州供电推出“一网通办”用电服务",
        subtitle: "",
        summary: "居民办理新装、增容等业务可在手机上一次提交，平均办理时间缩短至三个工作日。",
        author_byline: "通讯员 孙悦",
        correspondents: "",
        source: "国网苏州供电公司",
        headline: false,
        tags: "优质服务，一网通办",
        body: "<p>近日，国网苏州供电公司推出“一网通办”用电服务，居民和企业办理新装、增容、过户等业务，只需在手机上一次提交资料，即可全程线上办理。</p>\
<p>“以前要跑营业厅两三趟，现在在家动动手指就办好了。”家住工业园区的刘女士说。</p>\
<h2>数据多跑路，群众少跑腿</h2>\
<p>该公司与政务服务平台实现数据共享，用户身份证明、不动产登记等信息可自动调取，申请材料减少一半以上。平均办理时间由原来的七个工作日缩短至三个工作日。</p>",
    },
    DemoStory {
        channel: "keji",
        unit: "国网浙江电力",
        writer: "bianji",
        hours_ago: 100,
        kicker: "科技创新",
        title: "配电网故障自愈技术在杭州全面推广",
        subtitle: "故障隔离时间由分钟级缩短至秒级",
        summary: "杭州城区配电网已全面应用故障自愈技术，线路故障后可在数十秒内自动完成隔离和恢复供电。",
        author_byline: "本报记者 吴昊",
        correspondents: "",
        source: "电网新闻网",
        headline: false,
        tags: "科技创新，配电网",
        body: "<p><strong>本报讯</strong> 记者从国网浙江电力获悉，杭州城区配电网已全面应用故障自愈技术。线路发生故障后，系统可在数十秒内自动定位故障区段、完成隔离，并恢复非故障区段供电。</p>\
<h2>从“人找故障”到“故障自愈”</h2>\
<p>过去，配电线路发生故障后，需要抢修人员沿线查找，平均停电时间超过一小时。应用自愈技术后，故障隔离时间由分钟级缩短至秒级，绝大多数用户几乎感受不到停电。</p>\
<p>下一步，该公司将把这项技术推广到县域配电网，让更多用户享受到高可靠性供电。</p>",
    },
    DemoStory {
        channel: "dangjian",
        unit: "国网济南供电公司",
        writer: "bianji",
        hours_ago: 130,
        kicker: "",
        title: "党员服务队走进社区开展用电安全宣传",
        subtitle: "",
        summary: "济南供电公司党员服务队走进老旧小区，为居民讲解冬季用电安全知识并免费检修线路。",
        author_byline: "通讯员 赵雪",
        correspondents: "",
        source: "国网济南供电公司",
        headline: false,
        tags: "党建，用电安全",
        body: "<p>近日，国网济南供电公司党员服务队走进历下区多个老旧小区，开展冬季用电安全宣传活动，为居民讲解电暖器、电热毯等取暖设备的安全使用方法。</p>\
<p>活动中，队员们还为二十余户居民免费检修了室内线路，更换了老化的插座和开关。“有了他们的帮忙，今年冬天用电我们心里踏实多了。”一位老人说。</p>",
    },
];

/// Stories caught at each step of the workflow, so every queue and state
/// has something to show: (status, title, channel, writer, unit, note).
pub const IN_PROGRESS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "draft",
        "带电作业中心开展冬季安全培训",
        "jiceng-dongtai",
        "tongxunyuan1",
        "带电作业中心",
        "",
    ),
    (
        "submitted",
        "苏州供电开展“电力进社区”志愿服务",
        "jiceng-dongtai",
        "tongxunyuan2",
        "国网苏州供电公司",
        "",
    ),
    (
        "in_review",
        "威海海上风电送出工程完成首基塔组立",
        "dianwang-jianshe",
        "tongxunyuan1",
        "国网威海供电公司",
        "数据已核实，送总编终审。",
    ),
    (
        "returned",
        "苏州供电营业厅推出“一次办”服务",
        "qiye-fengcai",
        "tongxunyuan2",
        "国网苏州供电公司",
        "请补充服务上线时间和办理数据，并核实引语出处。",
    ),
    (
        "rejected",
        "某班组组织观看电影",
        "jiceng-dongtai",
        "tongxunyuan1",
        "带电作业中心",
        "新闻价值不足，不予采用。",
    ),
    (
        "scheduled",
        "明日起杭州试点配电网不停电检修",
        "keji",
        "bianji",
        "国网杭州供电公司",
        "同意，定于明早发布。",
    ),
    (
        "unpublished",
        "关于调整营业时间的说明",
        "yaowen",
        "bianji",
        "国网浙江电力",
        "信息已过时，撤下。",
    ),
];

pub const IN_PROGRESS_BODY: &str = "<p>这是一篇演示稿件，用来展示稿件在审核流程中的状态。</p>\
<h2>基本情况</h2><p>通讯员提交稿件后，编辑初审、总编终审，每一步都有记录。</p>";

/// What the story waiting for its first review adds, so that the review
/// page shows the proofreading lists at work.
pub const SUBMITTED_TYPOS: &str = "<p>截止11月底，国家电网公司系统已按装智能电表超过5亿只。</p>";
