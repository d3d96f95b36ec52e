//! Selecting vehicles, as hawkBit's operators write it: `field op value` terms joined by
//! `;` (and) and `,` (or, binding looser), with parentheses. Fields: `hardware_id`,
//! `tag`, `attr.NAME`, `installed.HARDWARE_ID` (the image path its ECU runs) and
//! `last_seen` (Unix seconds or `YYYY-MM-DDTHH:MM:SSZ`); operators `==`, `!=`, `=in=`,
//! `=out=` (with a list `(a,b)`), `<`, `>`; `*` in an `==`/`!=` value matches any text.
//! Parsed once into a typed expression, then matched against each vehicle (pure).
//!
//! `hw_rev==B;attr.region=in=(EU,UK)` is read `attr.hw_rev == B and region in {EU, UK}`;
//! a bare name other than the fields above is an attribute, so `region==EU` works too.

use std::collections::BTreeMap;
use std::fmt;

/// What a selector term looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// The hardware ids of the vehicle's ECUs.
    HardwareId,
    /// The vehicle's tags.
    Tag,
    /// One of its attributes.
    Attr(String),
    /// The image path installed on its ECUs of this hardware id.
    Installed(String),
    /// When it last checked in (Unix seconds).
    LastSeen,
}

/// How a term compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `=in=`
    In,
    /// `=out=`
    Out,
    /// `<`
    Lt,
    /// `>`
    Gt,
}

/// A parsed selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// One comparison.
    Term {
        /// Of what.
        field: Field,
        /// How.
        op: Op,
        /// With what (one value, or a list for `=in=` and `=out=`).
        values: Vec<String>,
    },
    /// Every one holds.
    And(Vec<Selector>),
    /// At least one holds.
    Or(Vec<Selector>),
}

/// What the parser expected where the text went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// A field name.
    Field,
    /// An operator.
    Operator,
    /// A value.
    Value,
    /// `(` opening a list, for `=in=` and `=out=`.
    List,
    /// `)`.
    Close,
    /// `;`, `,` or the end.
    End,
    /// A time: Unix seconds or `YYYY-MM-DDTHH:MM:SSZ`.
    Time,
    /// An operator this field takes.
    FieldOperator,
}

/// A selector that does not parse, with where and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError {
    /// Byte offset in the selector.
    pub at: usize,
    /// What would have been right there.
    pub expected: Expected,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.expected {
            Expected::Field => "a field (hardware_id, tag, attr.NAME, installed.HARDWARE_ID, last_seen)",
            Expected::Operator => "an operator (==, !=, =in=, =out=, <, >)",
            Expected::Value => "a value (a word, or text in double quotes)",
            Expected::List => "a list in parentheses, as in =in=(EU,UK)",
            Expected::Close => "a closing parenthesis",
            Expected::End => "';' (and), ',' (or) or the end",
            Expected::Time => "a time: Unix seconds or YYYY-MM-DDTHH:MM:SSZ",
            Expected::FieldOperator => "==, !=, =in= or =out= (only attr.NAME and last_seen compare with < and >)",
        };
        write!(f, "selector, at character {}: expected {what}", self.at + 1)
    }
}

impl std::error::Error for SelectorError {}

/// What a selector sees of one vehicle.
#[derive(Clone, Copy, Debug)]
pub struct VehicleView<'a> {
    /// Its tags.
    pub tags: &'a [String],
    /// Its attributes.
    pub attributes: &'a BTreeMap<String, String>,
    /// `(hardware id, installed image path)` of each ECU.
    pub ecus: &'a [(String, Option<String>)],
    /// When it last checked in (Unix seconds; 0 for never).
    pub last_seen: i64,
}

/// Parses `text`; an empty selector selects every vehicle.
pub fn parse(text: &str) -> Result<Selector, SelectorError> {
    let mut parser = Parser { text, at: 0 };
    parser.skip_space();
    if parser.at == text.len() {
        return Ok(Selector::And(Vec::new()));
    }
    let selector = parser.or()?;
    parser.skip_space();
    if parser.at != text.len() {
        return Err(parser.error(Expected::End));
    }
    Ok(selector)
}

struct Parser<'t> {
    text: &'t str,
    at: usize,
}

impl Parser<'_> {
    fn error(&self, expected: Expected) -> SelectorError {
        SelectorError { at: self.at, expected }
    }

    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        self.at += self.rest().len() - self.rest().trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        let found = self.rest().starts_with(token);
        if found {
            self.at += token.len();
        }
        found
    }

    fn or(&mut self) -> Result<Selector, SelectorError> {
        let mut any = vec![self.and()?];
        while self.eat(",") {
            any.push(self.and()?);
        }
        Ok(if any.len() == 1 { any.pop().expect("one") } else { Selector::Or(any) })
    }

    fn and(&mut self) -> Result<Selector, SelectorError> {
        let mut all = vec![self.primary()?];
        while self.eat(";") {
            all.push(self.primary()?);
        }
        Ok(if all.len() == 1 { all.pop().expect("one") } else { Selector::And(all) })
    }

    fn primary(&mut self) -> Result<Selector, SelectorError> {
        if self.eat("(") {
            let inner = self.or()?;
            if !self.eat(")") {
                return Err(self.error(Expected::Close));
            }
            return Ok(inner);
        }
        self.term()
    }

    fn term(&mut self) -> Result<Selector, SelectorError> {
        self.skip_space();
        let name = self.word().ok_or_else(|| self.error(Expected::Field))?;
        let field = match name.as_str() {
            "hardware_id" => Field::HardwareId,
            "tag" => Field::Tag,
            "last_seen" => Field::LastSeen,
            other => match other.split_once('.') {
                Some(("attr", attr)) if !attr.is_empty() => Field::Attr(attr.to_string()),
                Some(("installed", hw)) if !hw.is_empty() => Field::Installed(hw.to_string()),
                _ => Field::Attr(other.to_string()),
            },
        };
        self.skip_space();
        let op_at = self.at;
        let op = self.operator()?;
        let ordered = matches!(field, Field::Attr(_) | Field::LastSeen);
        if matches!(op, Op::Lt | Op::Gt) && !ordered {
            return Err(SelectorError { at: op_at, expected: Expected::FieldOperator });
        }
        let values = if matches!(op, Op::In | Op::Out) { self.list()? } else { vec![self.value()?] };
        let values = match field {
            Field::LastSeen => values.iter().map(|v| self.time(v)).collect::<Result<_, _>>()?,
            _ => values,
        };
        Ok(Selector::Term { field, op, values })
    }

    fn operator(&mut self) -> Result<Op, SelectorError> {
        for (token, op) in
            [("==", Op::Eq), ("!=", Op::Ne), ("=in=", Op::In), ("=out=", Op::Out), ("<", Op::Lt), (">", Op::Gt)]
        {
            if self.rest().starts_with(token) {
                self.at += token.len();
                return Ok(op);
            }
        }
        Err(self.error(Expected::Operator))
    }

    fn list(&mut self) -> Result<Vec<String>, SelectorError> {
        if !self.eat("(") {
            return Err(self.error(Expected::List));
        }
        let mut values = vec![self.value()?];
        while self.eat(",") {
            values.push(self.value()?);
        }
        if !self.eat(")") {
            return Err(self.error(Expected::Close));
        }
        Ok(values)
    }

    /// A bare word (letters, digits and `._:/@+-*`) or text in double quotes.
    fn value(&mut self) -> Result<String, SelectorError> {
        self.skip_space();
        if self.rest().starts_with('"') {
            let mut out = String::new();
            let mut chars = self.rest().char_indices().skip(1);
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        self.at += i + 1;
                        return Ok(out);
                    }
                    '\\' => out.extend(chars.next().map(|(_, c)| c)),
                    c => out.push(c),
                }
            }
            return Err(self.error(Expected::Value));
        }
        self.word().ok_or_else(|| self.error(Expected::Value))
    }

    fn word(&mut self) -> Option<String> {
        let allowed = |c: char| c.is_alphanumeric() || "._:/@+-*".contains(c);
        let len = self.rest().find(|c: char| !allowed(c)).unwrap_or(self.rest().len());
        let word = self.rest()[..len].to_string();
        self.at += len;
        (!word.is_empty()).then_some(word)
    }

    /// A time as Unix seconds, in decimal.
    fn time(&self, value: &str) -> Result<String, SelectorError> {
        if value.parse::<i64>().is_ok() {
            return Ok(value.to_string());
        }
        let time = metadata_schemas::UtcTime::parse(value).ok_or_else(|| self.error(Expected::Time))?;
        Ok(time.time().timestamp().to_string())
    }
}

/// What the database can check of a selector with its indexes: equality with listed
/// values of attributes, tags and hardware ids. A vehicle a selector takes always passes
/// its prefilter (terms the database cannot check are left out, never guessed), so the
/// prefilter only narrows what is read; the selector still decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prefilter {
    /// The attribute has one of these values.
    Attr {
        /// Its name.
        name: String,
        /// The values.
        values: Vec<String>,
    },
    /// One of these tags.
    Tag(Vec<String>),
    /// An ECU of one of these hardware ids.
    HardwareId(Vec<String>),
    /// Every one.
    All(Vec<Prefilter>),
    /// At least one.
    Any(Vec<Prefilter>),
}

impl Selector {
    /// The part of the selector the database can check (`None`: it must read all).
    pub fn prefilter(&self) -> Option<Prefilter> {
        match self {
            Selector::And(all) => {
                let parts: Vec<Prefilter> = all.iter().filter_map(Selector::prefilter).collect();
                (!parts.is_empty()).then_some(Prefilter::All(parts))
            }
            Selector::Or(any) => any.iter().map(Selector::prefilter).collect::<Option<Vec<_>>>().map(Prefilter::Any),
            Selector::Term { field, op, values } => {
                if !matches!(op, Op::Eq | Op::In) || values.iter().any(|v| v.contains('*')) {
                    return None;
                }
                match field {
                    Field::Attr(name) => Some(Prefilter::Attr { name: name.clone(), values: values.clone() }),
                    Field::Tag => Some(Prefilter::Tag(values.clone())),
                    Field::HardwareId => Some(Prefilter::HardwareId(values.clone())),
                    Field::Installed(_) | Field::LastSeen => None,
                }
            }
        }
    }
}

/// `pattern` (with `*` for any text) matches `text`.
fn glob(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else { return pattern == text };
    let Some(mut left) = text.strip_prefix(first) else { return false };
    let parts: Vec<&str> = rest.split('*').collect();
    let (last, middle) = parts.split_last().expect("split yields one part at least");
    for part in middle {
        match left.find(part) {
            Some(i) => left = &left[i + part.len()..],
            None => return false,
        }
    }
    left.len() >= last.len() && left.ends_with(last)
}

/// `a < b`: as numbers when both are, else as text.
fn less(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x < y,
        _ => a < b,
    }
}

/// Whether a term over a set of values (tags, hardware ids, installed images) holds.
fn over_set<'v>(op: Op, values: &[String], mut set: impl Iterator<Item = &'v str> + Clone) -> bool {
    let any = |wanted: &String| set.clone().any(|have| glob(wanted, have));
    match op {
        Op::Eq => any(&values[0]),
        Op::Ne => !any(&values[0]),
        Op::In => values.iter().any(any),
        Op::Out => !values.iter().any(any),
        Op::Lt => set.any(|have| less(have, &values[0])),
        Op::Gt => set.any(|have| less(&values[0], have)),
    }
}

impl Selector {
    /// Whether `vehicle` is selected.
    pub fn matches(&self, vehicle: &VehicleView<'_>) -> bool {
        match self {
            Selector::And(all) => all.iter().all(|s| s.matches(vehicle)),
            Selector::Or(any) => any.iter().any(|s| s.matches(vehicle)),
            Selector::Term { field, op, values } => match field {
                Field::HardwareId => over_set(*op, values, vehicle.ecus.iter().map(|(hw, _)| hw.as_str())),
                Field::Tag => over_set(*op, values, vehicle.tags.iter().map(String::as_str)),
                Field::Attr(name) => {
                    over_set(*op, values, vehicle.attributes.get(name).map(String::as_str).into_iter())
                }
                Field::Installed(hw) => {
                    let images = vehicle.ecus.iter().filter(|(h, _)| h == hw).filter_map(|(_, i)| i.as_deref());
                    over_set(*op, values, images)
                }
                Field::LastSeen => {
                    let seen = vehicle.last_seen.to_string();
                    over_set(*op, values, std::iter::once(seen.as_str()))
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Car {
        tags: Vec<String>,
        attributes: BTreeMap<String, String>,
        ecus: Vec<(String, Option<String>)>,
        last_seen: i64,
    }

    impl Car {
        fn view(&self) -> VehicleView<'_> {
            VehicleView { tags: &self.tags, attributes: &self.attributes, ecus: &self.ecus, last_seen: self.last_seen }
        }
    }

    fn car(region: &str, hw_rev: &str, tags: &[&str], brake_image: Option<&str>) -> Car {
        Car {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            attributes: [("region", region), ("hw_rev", hw_rev), ("mileage", "12000")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ecus: vec![
                ("gateway-hw".into(), Some("gw-1.0.bin".into())),
                ("brake-hw".into(), brake_image.map(String::from)),
            ],
            last_seen: 1_800_000_000,
        }
    }

    fn selects(selector: &str, car: &Car) -> bool {
        parse(selector).unwrap_or_else(|e| panic!("{selector}: {e}")).matches(&car.view())
    }

    #[test]
    fn terms_join_with_and_binding_tighter_than_or() {
        let eu_b = car("EU", "B", &["beta"], Some("brake-2.0.bin"));
        let us_a = car("US", "A", &[], Some("brake-1.0.bin"));
        for (selector, eu, us) in [
            ("", true, true),
            ("attr.region==EU", true, false),
            ("region==EU", true, false),
            ("hw_rev==B;region==EU", true, false),
            ("hw_rev==A;region==US,tag==beta", true, true),
            ("hw_rev==A;(region==EU,region==US)", false, true),
            ("attr.region=in=(EU,UK)", true, false),
            ("attr.region=out=(EU,UK)", false, true),
            ("region!=EU", false, true),
            ("attr.missing!=x", true, true),
            ("attr.missing==x", false, false),
            ("tag==beta", true, false),
            ("tag!=beta", false, true),
            ("hardware_id==brake-hw", true, true),
            ("hardware_id!=wiper-hw", true, true),
            ("hardware_id=in=(wiper-hw,radio)", false, false),
            ("installed.brake-hw==brake-2.0.bin", true, false),
            ("installed.brake-hw==brake-*.bin", true, true),
            ("installed.brake-hw!=brake-2*", false, true),
            ("installed.wiper-hw==*", false, false),
            ("attr.mileage>9999", true, true),
            ("attr.mileage<9999", false, false),
            ("last_seen>1799999999", true, true),
            ("last_seen<2028-01-01T00:00:00Z", true, true),
            ("last_seen<2027-01-01T00:00:00Z", false, false),
            ("attr.region==\"EU\"", true, false),
            ("  hw_rev == B ; region == EU ", true, false),
        ] {
            assert_eq!(selects(selector, &eu_b), eu, "{selector} on the EU car");
            assert_eq!(selects(selector, &us_a), us, "{selector} on the US car");
        }
    }

    #[test]
    fn a_bad_selector_says_where_and_what_was_expected() {
        for (selector, at, expected) in [
            ("region", 6, Expected::Operator),
            ("region==", 8, Expected::Value),
            ("region=in=EU", 10, Expected::List),
            ("region=in=(EU,UK", 16, Expected::Close),
            ("(region==EU", 11, Expected::Close),
            ("region==EU;", 11, Expected::Field),
            ("region==EU)", 10, Expected::End),
            ("tag<beta", 3, Expected::FieldOperator),
            ("last_seen>yesterday", 19, Expected::Time),
            ("region==\"EU", 8, Expected::Value),
            ("==EU", 0, Expected::Field),
        ] {
            let error = parse(selector).unwrap_err();
            assert_eq!((error.at, error.expected), (at, expected), "{selector}: {error}");
        }
        let said = parse("region").unwrap_err().to_string();
        assert_eq!(said, "selector, at character 7: expected an operator (==, !=, =in=, =out=, <, >)");
    }

    #[test]
    fn the_prefilter_keeps_only_what_the_database_can_check_exactly() {
        let attr = |name: &str, values: &[&str]| Prefilter::Attr {
            name: name.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        let of = |text: &str| parse(text).unwrap().prefilter();
        assert_eq!(of(""), None, "everything");
        assert_eq!(of("region==EU"), Some(attr("region", &["EU"])));
        assert_eq!(
            of("region=in=(EU,UK);tag==beta;last_seen>5"),
            Some(Prefilter::All(vec![attr("region", &["EU", "UK"]), Prefilter::Tag(vec!["beta".into()])]))
        );
        assert_eq!(of("region==EU,installed.brake-hw==x"), None, "an or with a part it cannot check");
        assert_eq!(
            of("region==EU,hardware_id==brake-hw"),
            Some(Prefilter::Any(vec![attr("region", &["EU"]), Prefilter::HardwareId(vec!["brake-hw".into()])]))
        );
        assert_eq!(of("region!=EU"), None);
        assert_eq!(of("region==E*"), None, "globs stay with the selector");
    }

    #[test]
    fn globs_match_whole_values() {
        for (pattern, text, expected) in [
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a*c", "abc", true),
            ("a*b*c", "abc", true),
            ("a*c", "ab", false),
            ("*", "", true),
            ("abc", "abcd", false),
            ("a**c", "ac", true),
            ("ab*bc", "abc", false),
        ] {
            assert_eq!(glob(pattern, text), expected, "{pattern} ~ {text}");
        }
    }
}
