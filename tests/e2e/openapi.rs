//! The OpenAPI document and the service's edges (health, unknown routes and methods).

use reqwest::StatusCode;
use serde_json::Value;

use crate::utils::TestServer;

#[tokio::test]
async fn openapi_describes_every_route() {
    let server = TestServer::start().await;
    let (status, doc) = server.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/v1/tenants", &["post"][..]),
        ("/v1/tenants/{id}", &["get", "patch"]),
        ("/v1/keys", &["get", "post"]),
        ("/v1/keys/{id}", &["delete"]),
        ("/v1/tools", &["get", "post"]),
        ("/v1/tools/{id}", &["get", "put", "delete"]),
        ("/v1/tools/{id}/test", &["post"]),
        ("/v1/agents/{agent}/invoke", &["post"]),
        ("/v1/agents/{agent}/mcp", &["post"]),
        ("/v1/calls", &["get"]),
    ] {
        for method in methods {
            assert!(
                paths[path].get(*method).is_some(),
                "{method} {path} is documented"
            );
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in ["ToolSpec", "Tool", "InvocationResult", "ErrorBody", "Param"] {
        assert!(schemas.contains_key(name), "schema {name}");
    }
}

#[tokio::test]
async fn edges_answer_in_the_error_shape() {
    let server = TestServer::start().await;
    let (status, body) = server.call("GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, body) = server.call("GET", "/v1/nothing-here", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["kind"], "not_found");
    let (status, body): (StatusCode, Value) = server.call("PATCH", "/v1/tools", None, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["kind"], "method_not_allowed");
}
