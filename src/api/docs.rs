//! The API's OpenAPI 3.1 document, generated from the handlers and types
//! (utoipa), served at `/api/v1/openapi.json`, and its reference page at
//! `/api/v1`, rendered from the same document.

use std::sync::LazyLock;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde_json::Value;
use utoipa::OpenApi;

use super::{ApiError, ErrorBody, stories};
use crate::layout::PublicLayout;
use crate::site::TreeCache;
use crate::web::reads::ReadPool;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Newsdesk API",
        description = "The published stories of the site, its channel and unit trees and its search. \
                       Only what readers of the site may see is returned. Lists page by `cursor`; \
                       every answer carries an ETag (send it back as If-None-Match for 304). \
                       Each client may make a limited number of requests a minute (429 with Retry-After past it).",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        stories::list,
        stories::one,
        stories::channels,
        stories::units,
        stories::search,
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "stories", description = "Published stories"),
        (name = "structure", description = "Channels and units"),
        (name = "search", description = "Full-text search"),
    )
)]
struct Document;

/// The document as JSON, built once.
pub static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    serde_json::to_value(Document::openapi()).expect("the OpenAPI document serialises")
});

/// GET /api/v1/openapi.json
pub async fn document(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    super::json(&req, &*DOCUMENT)
}

/// A field or parameter as the reference lists it.
struct Field {
    name: String,
    kind: String,
    required: bool,
    description: String,
}

struct Response {
    status: String,
    description: String,
    body: String,
}

struct Operation {
    method: String,
    path: String,
    summary: String,
    description: String,
    parameters: Vec<Field>,
    responses: Vec<Response>,
}

struct Schema {
    name: String,
    description: String,
    fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "public/api.html")]
struct ReferencePage {
    layout: PublicLayout,
    description: String,
    operations: Vec<Operation>,
    schemas: Vec<Schema>,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// A schema's type as a reader reads it: `StorySummary`, `string
/// (date-time)`, `array of Credit`, `integer or null`.
fn kind(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    if let Some(choices) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        return choices.iter().map(kind).collect::<Vec<_>>().join(" or ");
    }
    let types: Vec<String> = match &schema["type"] {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many.iter().map(text).collect(),
        _ => Vec::new(),
    };
    let named = types
        .iter()
        .map(|name| match name.as_str() {
            "array" => format!("array of {}", kind(&schema["items"])),
            other => match schema["format"].as_str() {
                Some(format) if other != "null" => format!("{other} ({format})"),
                _ => other.to_owned(),
            },
        })
        .collect::<Vec<_>>();
    if named.is_empty() {
        "any".to_owned()
    } else {
        named.join(" or ")
    }
}

fn operations(document: &Value) -> Vec<Operation> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let parameters = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|parameter| Field {
                    name: format!("{} ({})", text(&parameter["name"]), text(&parameter["in"])),
                    kind: kind(&parameter["schema"]),
                    required: parameter["required"].as_bool().unwrap_or(false),
                    description: text(&parameter["description"]),
                })
                .collect();
            let responses = operation["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(status, response)| Response {
                    status: status.clone(),
                    description: text(&response["description"]),
                    body: response["content"]["application/json"]["schema"]
                        .as_object()
                        .map(|_| kind(&response["content"]["application/json"]["schema"]))
                        .unwrap_or_default(),
                })
                .collect();
            found.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                summary: text(&operation["summary"]),
                description: text(&operation["description"]),
                parameters,
                responses,
            });
        }
    }
    found
}

fn schemas(document: &Value) -> Vec<Schema> {
    document["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, schema)| {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            Schema {
                name: name.clone(),
                description: text(&schema["description"]),
                fields: schema["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(field, property)| Field {
                        name: field.clone(),
                        kind: kind(property),
                        required: required.contains(&field.as_str()),
                        description: text(&property["description"]),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// GET /api/v1: the reference, for the developer on the other end.
pub async fn reference(
    pool: ReadPool,
    trees: web::Data<TreeCache>,
) -> Result<HttpResponse, crate::error::AppError> {
    let mut conn = pool.acquire().await?;
    let layout = PublicLayout::load(&mut conn, &trees)
        .await?
        .titled("开放接口", "本站公开稿件的 JSON 接口说明");
    crate::web::page(&ReferencePage {
        layout,
        description: text(&DOCUMENT["info"]["description"]),
        operations: operations(&DOCUMENT),
        schemas: schemas(&DOCUMENT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_names_every_route() {
        assert!(text(&DOCUMENT["openapi"]).starts_with("3.1"));
        let paths: Vec<&String> = DOCUMENT["paths"].as_object().unwrap().keys().collect();
        for path in [
            "/api/v1/stories",
            "/api/v1/stories/{number}",
            "/api/v1/channels",
            "/api/v1/units",
            "/api/v1/search",
        ] {
            assert!(paths.iter().any(|p| *p == path), "{path} missing");
        }
        let schemas = schemas(&DOCUMENT);
        let story = schemas.iter().find(|s| s.name == "Story").unwrap();
        let body = story.fields.iter().find(|f| f.name == "body_html").unwrap();
        assert!(body.required);
        assert_eq!(body.kind, "string");
        let credits = story.fields.iter().find(|f| f.name == "credits").unwrap();
        assert_eq!(credits.kind, "array of Credit");
    }
}
