//! The phrase corpus the generator writes stories from: places, units,
//! topics and sentence patterns of a power-grid newsroom. Words are drawn
//! with Zipf-like weights (the first of a list most often), so a search
//! finds some words in most stories and others in a handful, as in a real
//! archive.

use rand::Rng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;

pub const PROVINCES: &[&str] = &[
    "山东",
    "江苏",
    "浙江",
    "河南",
    "河北",
    "湖北",
    "湖南",
    "四川",
    "安徽",
    "福建",
    "江西",
    "辽宁",
    "吉林",
    "黑龙江",
    "陕西",
    "山西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "西藏",
    "重庆",
    "天津",
    "上海",
    "北京",
    "蒙东",
    "冀北",
];

pub const CITIES: &[&str] = &[
    "济南",
    "青岛",
    "烟台",
    "威海",
    "潍坊",
    "淄博",
    "临沂",
    "济宁",
    "泰安",
    "日照",
    "南京",
    "苏州",
    "无锡",
    "常州",
    "南通",
    "扬州",
    "徐州",
    "盐城",
    "杭州",
    "宁波",
    "温州",
    "绍兴",
    "嘉兴",
    "湖州",
    "金华",
    "台州",
    "郑州",
    "洛阳",
    "开封",
    "新乡",
    "南阳",
    "石家庄",
    "保定",
    "唐山",
    "邯郸",
    "沧州",
    "武汉",
    "宜昌",
    "襄阳",
    "荆州",
    "长沙",
    "株洲",
    "湘潭",
    "岳阳",
    "成都",
    "绵阳",
    "德阳",
    "宜宾",
    "合肥",
    "芜湖",
    "蚌埠",
    "安庆",
    "福州",
    "厦门",
    "泉州",
    "漳州",
    "南昌",
    "九江",
    "赣州",
    "沈阳",
    "大连",
    "鞍山",
    "长春",
    "吉林",
    "哈尔滨",
    "大庆",
    "西安",
    "宝鸡",
    "咸阳",
    "太原",
    "大同",
    "兰州",
    "天水",
    "西宁",
    "银川",
    "乌鲁木齐",
    "喀什",
    "拉萨",
    "日喀则",
    "万州",
    "涪陵",
    "滨海",
    "浦东",
    "昌平",
    "赤峰",
    "张家口",
];

const TOPICS: &[&str] = &[
    "电网建设",
    "安全生产",
    "优质服务",
    "迎峰度夏",
    "迎峰度冬",
    "科技创新",
    "党建工作",
    "乡村振兴",
    "新能源消纳",
    "数字化转型",
    "配电网改造",
    "特高压工程",
    "营商环境",
    "电力保供",
    "节能降碳",
    "抢修复电",
    "智能巡检",
    "电力市场",
    "人才培养",
    "廉洁建设",
    "应急演练",
    "带电作业",
    "充电设施",
    "储能示范",
    "农网升级",
    "用电检查",
    "线损治理",
    "供电可靠性",
    "客户满意度",
    "设备运维",
    "防汛抗台",
    "冰灾防御",
    "无人机巡线",
    "电能替代",
    "分布式光伏",
    "虚拟电厂",
    "源网荷储",
    "碳达峰",
    "标准化建设",
    "文化建设",
];

const WORKERS: &[&str] = &[
    "运维人员",
    "抢修队员",
    "共产党员服务队",
    "青年突击队",
    "技术骨干",
    "班组成员",
    "调度人员",
    "营销人员",
    "带电作业班",
    "巡检人员",
    "客户经理",
    "工程建设者",
    "劳模工作室",
];

const THINGS: &[&str] = &[
    "变电站",
    "输电线路",
    "配电台区",
    "开关站",
    "环网柜",
    "配电变压器",
    "电缆通道",
    "充电桩",
    "光伏电站",
    "储能电站",
    "换流站",
    "杆塔",
    "智能电表",
    "调度系统",
    "配电自动化终端",
    "柔性直流装置",
    "巡检机器人",
    "数字孪生平台",
];

const ACTIONS: &[&str] = &[
    "全面推进",
    "扎实开展",
    "持续深化",
    "稳步推进",
    "高质量完成",
    "率先实现",
    "圆满完成",
    "创新开展",
    "全力保障",
    "加快建设",
    "深入落实",
    "精心组织",
    "积极探索",
    "顺利投运",
];

const RESULTS: &[&str] = &[
    "供电可靠率提升至百分之九十九点九",
    "故障停电时间同比下降三成",
    "用户平均停电时间大幅缩短",
    "新能源利用率保持在百分之九十五以上",
    "办电时间压减至三个工作日",
    "线损率同比下降零点五个百分点",
    "客户满意度持续提升",
    "迎峰期间电网运行平稳有序",
    "节约标准煤上万吨",
    "有效满足了地区经济发展用电需求",
    "为当地企业节约用电成本数百万元",
];

const HEADINGS: &[&str] = &[
    "提前谋划，压实责任",
    "聚焦重点，精准发力",
    "科技赋能，提质增效",
    "服务为先，温暖民心",
    "党建引领，凝聚合力",
    "守牢底线，确保安全",
    "创新驱动，激发活力",
    "协同联动，形成合力",
    "夯实基础，补齐短板",
    "示范带动，久久为功",
    "优化流程，提升效率",
    "关口前移，防患未然",
];

const OPENINGS: &[&str] = &[
    "本报讯",
    "近日",
    "日前",
    "今年以来",
    "入冬以来",
    "入夏以来",
    "连日来",
];

const QUOTES: &[&str] = &[
    "我们将持续提升服务水平，让群众用上放心电、满意电",
    "每一次巡视都不能放过任何一个隐患",
    "保障电力可靠供应是我们义不容辞的责任",
    "下一步，公司将继续加大投入，推动电网高质量发展",
    "科技创新让一线工作更安全、更高效",
];

/// The topics, which are also the tags stories get.
pub fn topic_names() -> &'static [&'static str] {
    TOPICS
}

/// Picks from `items` with Zipf-like weights (1/rank^0.9).
pub struct Pick<'a> {
    items: &'a [&'a str],
    weights: WeightedIndex<f64>,
}

impl<'a> Pick<'a> {
    pub fn new(items: &'a [&'a str]) -> Self {
        let weights = (1..=items.len()).map(|rank| 1.0 / (rank as f64).powf(0.9));
        Pick {
            items,
            weights: WeightedIndex::new(weights).expect("a non-empty list"),
        }
    }

    pub fn one(&self, rng: &mut impl Rng) -> &'a str {
        self.items[self.weights.sample(rng)]
    }
}

/// The word lists, weighted once.
pub struct Corpus {
    provinces: Pick<'static>,
    cities: Pick<'static>,
    topics: Pick<'static>,
    workers: Pick<'static>,
    things: Pick<'static>,
    actions: Pick<'static>,
    results: Pick<'static>,
    headings: Pick<'static>,
    openings: Pick<'static>,
    quotes: Pick<'static>,
}

/// A generated story.
pub struct Story {
    pub title: String,
    pub summary: String,
    pub body_html: String,
    pub body_text: String,
    pub tags: Vec<&'static str>,
}

impl Default for Corpus {
    fn default() -> Self {
        Corpus {
            provinces: Pick::new(PROVINCES),
            cities: Pick::new(CITIES),
            topics: Pick::new(TOPICS),
            workers: Pick::new(WORKERS),
            things: Pick::new(THINGS),
            actions: Pick::new(ACTIONS),
            results: Pick::new(RESULTS),
            headings: Pick::new(HEADINGS),
            openings: Pick::new(OPENINGS),
            quotes: Pick::new(QUOTES),
        }
    }
}

impl Corpus {
    fn sentence(&self, rng: &mut impl Rng, city: &str) -> String {
        let number = rng.random_range(2..300);
        match rng.random_range(0..8) {
            0 => format!(
                "{}{}{}工作，{}。",
                city,
                self.workers.one(rng),
                self.topics.one(rng),
                self.results.one(rng)
            ),
            1 => format!(
                "围绕{}，公司{}{}项重点任务，累计完成{}{}座（条）的检修改造。",
                self.topics.one(rng),
                self.actions.one(rng),
                number % 20 + 3,
                self.things.one(rng),
                number
            ),
            2 => format!(
                "{}对辖区内{}处{}开展全面排查，发现并消除隐患{}项。",
                self.workers.one(rng),
                number,
                self.things.one(rng),
                number / 3 + 1
            ),
            3 => format!(
                "“{}。”{}负责人表示。",
                self.quotes.one(rng),
                self.workers.one(rng)
            ),
            4 => format!(
                "据统计，{}年以来共投入资金{}亿元，新建和改造{}{}处，{}。",
                2020 + number % 6,
                number % 50 + 1,
                self.things.one(rng),
                number * 3,
                self.results.one(rng)
            ),
            5 => format!(
                "在{}现场，{}运用{}技术，{}了{}的升级改造。",
                self.things.one(rng),
                self.workers.one(rng),
                self.topics.one(rng),
                self.actions.one(rng),
                self.things.one(rng)
            ),
            6 => format!(
                "公司把{}与{}结合起来，推动{}{}落地见效。",
                self.topics.one(rng),
                self.topics.one(rng),
                city,
                self.topics.one(rng)
            ),
            _ => format!(
                "下一步，{}将继续{}{}，为地方经济社会发展提供坚强电力保障。",
                self.workers.one(rng),
                self.actions.one(rng),
                self.topics.one(rng)
            ),
        }
    }

    fn paragraph(&self, rng: &mut impl Rng, city: &str) -> String {
        (0..rng.random_range(3..7))
            .map(|_| self.sentence(rng, city))
            .collect()
    }

    /// A story of 1,500 to 4,000 characters with subheadings.
    pub fn story(&self, rng: &mut impl Rng) -> Story {
        let province = self.provinces.one(rng);
        let city = self.cities.one(rng);
        let topic = self.topics.one(rng);
        let title = match rng.random_range(0..4) {
            0 => format!("国网{city}供电公司{}{topic}", self.actions.one(rng)),
            1 => format!("{province}电网{topic}取得新成效"),
            2 => format!("{city}：{}筑牢{topic}防线", self.workers.one(rng)),
            _ => format!("{}{}{topic}", province, self.actions.one(rng)),
        };
        let target = rng.random_range(1500..4000);
        let lead = format!(
            "{}，国网{city}供电公司{}{topic}，{}。",
            self.openings.one(rng),
            self.actions.one(rng),
            self.results.one(rng)
        );
        let mut body_html = format!("<p>{lead}</p>");
        let mut body_text = lead.clone();
        let mut length = lead.chars().count();
        let numbers = ["一", "二", "三", "四", "五", "六", "七", "八"];
        let mut section = 0;
        while length < target && section < numbers.len() {
            let heading = format!("{}、{}", numbers[section], self.headings.one(rng));
            body_html.push_str(&format!("<h2>{heading}</h2>"));
            body_text.push('\n');
            body_text.push_str(&heading);
            length += heading.chars().count();
            for _ in 0..rng.random_range(2..4) {
                let paragraph = self.paragraph(rng, city);
                length += paragraph.chars().count();
                body_html.push_str(&format!("<p>{paragraph}</p>"));
                body_text.push('\n');
                body_text.push_str(&paragraph);
                if length >= target {
                    break;
                }
            }
            section += 1;
        }
        let mut tags = vec![topic];
        for _ in 0..rng.random_range(1..3) {
            let tag = self.topics.one(rng);
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Story {
            summary: lead.chars().take(120).collect(),
            title: title.chars().take(80).collect(),
            body_html,
            body_text,
            tags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn stories_have_the_length_and_shape_asked_for() {
        let corpus = Corpus::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..50 {
            let story = corpus.story(&mut rng);
            let length = story.body_text.chars().count();
            assert!((1500..4800).contains(&length), "{length} characters");
            assert!(story.body_html.contains("<h2>一、"));
            assert!(!story.title.is_empty() && story.title.chars().count() <= 80);
            assert!(!story.tags.is_empty());
        }
    }

    #[test]
    fn frequent_words_are_frequent_and_rare_ones_rare() {
        let corpus = Corpus::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let stories: Vec<Story> = (0..300).map(|_| corpus.story(&mut rng)).collect();
        let share = |word: &str| {
            stories
                .iter()
                .filter(|s| s.body_text.contains(word))
                .count() as f64
                / 300.0
        };
        assert!(share("电网") > 0.5, "电网 in {}", share("电网"));
        assert!(share("日喀则") < 0.1, "日喀则 in {}", share("日喀则"));
    }
}
