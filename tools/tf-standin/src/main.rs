//! An offline stand-in for the `hashicorp/aws` Terraform provider.
//!
//! `terraform init/validate/test` need a provider binary even when every resource is
//! mocked (`mock_provider`), and none can be downloaded here. This binary speaks the
//! plugin protocol and serves the real provider schema (extracted at set-up time by
//! `tools/infra/extract_schema.py`), so Terraform can check attribute names, types and
//! references. It never talks to AWS: planning, applying and reading data sources fail.
//!
//! The schema is read from `$DROVER_TF_STANDIN_SCHEMA`, else from `schema.json` next to
//! the executable (the filesystem mirror keeps both in one directory).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use async_trait::async_trait;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Block, Description, NestedBlock, Schema};
use tf_provider::{
    AttributePath, DataSource, Diagnostics, DynamicDataSource, DynamicProvider, DynamicResource, Resource,
};

const REFUSAL: &str = "tf-standin serves the AWS provider schema only: it cannot plan, apply \
                       or read; use `terraform test` with mock_provider";

fn cty(value: &Value) -> Result<AttributeType> {
    Ok(match value {
        Value::String(s) => match s.as_str() {
            "string" => AttributeType::String,
            "number" => AttributeType::Number,
            "bool" => AttributeType::Bool,
            "dynamic" => AttributeType::Any,
            other => bail!("unknown primitive type {other}"),
        },
        Value::Array(parts) => {
            let kind = parts.first().and_then(Value::as_str).unwrap_or_default();
            let inner = parts.get(1).ok_or_else(|| anyhow!("type {kind} without element"))?;
            match kind {
                "list" => AttributeType::List(Box::new(cty(inner)?)),
                "set" => AttributeType::Set(Box::new(cty(inner)?)),
                "map" => AttributeType::Map(Box::new(cty(inner)?)),
                "object" => AttributeType::Object(
                    inner
                        .as_object()
                        .ok_or_else(|| anyhow!("object type without attributes"))?
                        .iter()
                        .map(|(k, v)| Ok((k.clone(), cty(v)?)))
                        .collect::<Result<_>>()?,
                ),
                other => bail!("unknown collection type {other}"),
            }
        }
        other => bail!("bad type {other}"),
    })
}

fn block(value: &Value) -> Result<Block> {
    let mut out = Block { description: Description::plain(""), ..Default::default() };
    if let Some(attrs) = value.get("attributes").and_then(Value::as_object) {
        for (name, attr) in attrs {
            let constraint = match attr.get("mode").and_then(Value::as_str) {
                Some("required") => AttributeConstraint::Required,
                Some("optional") => AttributeConstraint::Optional,
                Some("computed") => AttributeConstraint::Computed,
                _ => AttributeConstraint::OptionalComputed,
            };
            let attr_type =
                cty(attr.get("type").unwrap_or(&Value::Null)).with_context(|| format!("attribute {name}"))?;
            out.attributes.insert(
                name.clone(),
                Attribute { attr_type, description: Description::plain(""), constraint, ..Default::default() },
            );
        }
    }
    if let Some(blocks) = value.get("blocks").and_then(Value::as_object) {
        for (name, nested) in blocks {
            let inner = block(nested.get("block").unwrap_or(&Value::Null)).with_context(|| format!("block {name}"))?;
            let nested = match nested.get("nesting").and_then(Value::as_str) {
                Some("single") => NestedBlock::Single(inner),
                Some("optional") => NestedBlock::Optional(inner),
                Some("set") => NestedBlock::Set(inner),
                Some("map") => NestedBlock::Map(inner),
                _ => NestedBlock::List(inner),
            };
            out.blocks.insert(name.clone(), nested);
        }
    }
    Ok(out)
}

fn schema(value: &Value) -> Result<Schema> {
    Ok(Schema { version: 0, block: block(value)? })
}

/// Any value, ignored: the stand-in never looks at configuration or state, and it must
/// accept unknown values (MessagePack extensions) during `validate`.
#[derive(Default)]
struct Opaque;

impl Serialize for Opaque {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_none()
    }
}

impl<'de> Deserialize<'de> for Opaque {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| Opaque)
    }
}

struct StandinResource(Schema);
struct StandinDataSource(Schema);
struct StandinProvider {
    provider: Schema,
    resources: HashMap<String, Arc<Schema>>,
    data_sources: HashMap<String, Arc<Schema>>,
}

fn refuse<T>(diags: &mut Diagnostics) -> Option<T> {
    diags.root_error_short(REFUSAL);
    None
}

#[async_trait]
impl Resource for StandinResource {
    type State<'a> = Opaque;
    type PrivateState<'a> = Opaque;
    type ProviderMetaState<'a> = Opaque;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(self.0.clone())
    }
    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        _state: Opaque,
        _private: Opaque,
        _meta: Opaque,
    ) -> Option<(Opaque, Opaque)> {
        refuse(diags)
    }
    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        _proposed: Opaque,
        _config: Opaque,
        _meta: Opaque,
    ) -> Option<(Opaque, Opaque)> {
        refuse(diags)
    }
    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior: Opaque,
        _proposed: Opaque,
        _config: Opaque,
        _private: Opaque,
        _meta: Opaque,
    ) -> Option<(Opaque, Opaque, Vec<AttributePath>)> {
        refuse(diags)
    }
    async fn plan_destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior: Opaque,
        _private: Opaque,
        _meta: Opaque,
    ) -> Option<Opaque> {
        refuse(diags)
    }
    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        _planned: Opaque,
        _config: Opaque,
        _private: Opaque,
        _meta: Opaque,
    ) -> Option<(Opaque, Opaque)> {
        refuse(diags)
    }
    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior: Opaque,
        _planned: Opaque,
        _config: Opaque,
        _private: Opaque,
        _meta: Opaque,
    ) -> Option<(Opaque, Opaque)> {
        refuse(diags)
    }
    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior: Opaque,
        _private: Opaque,
        _meta: Opaque,
    ) -> Option<()> {
        refuse(diags)
    }
}

#[async_trait]
impl DataSource for StandinDataSource {
    type State<'a> = Opaque;
    type ProviderMetaState<'a> = Opaque;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(self.0.clone())
    }
    async fn read<'a>(&self, diags: &mut Diagnostics, _config: Opaque, _meta: Opaque) -> Option<Opaque> {
        refuse(diags)
    }
}

#[async_trait]
impl DynamicProvider for StandinProvider {
    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(self.provider.clone())
    }
    fn get_resources(&self, _diags: &mut Diagnostics) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        Some(
            self.resources
                .iter()
                .map(|(k, s)| (k.clone(), Box::new(StandinResource((**s).clone())) as Box<dyn DynamicResource>))
                .collect(),
        )
    }
    fn get_data_sources(&self, _diags: &mut Diagnostics) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(
            self.data_sources
                .iter()
                .map(|(k, s)| (k.clone(), Box::new(StandinDataSource((**s).clone())) as Box<dyn DynamicDataSource>))
                .collect(),
        )
    }
}

/// Resource types arrive as `aws_x`; the server adds the provider name back.
fn by_type(doc: &Value, key: &str) -> Result<HashMap<String, Arc<Schema>>> {
    let entries = doc.get(key).and_then(Value::as_object).ok_or_else(|| anyhow!("schema has no {key}"))?;
    entries
        .iter()
        .map(|(name, body)| {
            let short = name.strip_prefix("aws_").unwrap_or(name).to_string();
            Ok((short, Arc::new(schema(body).with_context(|| name.clone())?)))
        })
        .collect()
}

fn schema_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("DROVER_TF_STANDIN_SCHEMA") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("locating the executable")?;
    Ok(exe.with_file_name("schema.json"))
}

fn load() -> Result<StandinProvider> {
    let path = schema_path()?;
    let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value = serde_json::from_slice(&text).context("parsing the schema")?;
    Ok(StandinProvider {
        provider: schema(doc.get("provider").unwrap_or(&Value::Null))?,
        resources: by_type(&doc, "resources")?,
        data_sources: by_type(&doc, "data_sources")?,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let provider = load()?;
    tf_provider::serve("aws", provider).await
}
