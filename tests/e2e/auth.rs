//! Tenants, keys and plans: who may do what, from the outside.

use reqwest::StatusCode;
use serde_json::json;

use crate::utils::{ADMIN, Receiver, TestServer, seed_tool};

#[tokio::test]
async fn operator_creates_reads_and_updates_tenants() {
    let server = TestServer::start().await;
    let (status, created) = server
        .call(
            "POST",
            "/v1/tenants",
            Some(ADMIN),
            Some(json!({"name": "Rapid Plumbing", "plan": "plus"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("ten_"));
    assert!(created["api_key"].as_str().unwrap().starts_with("sbk_"));
    assert_eq!(created["plan"], "plus");

    let (status, tenant) = server
        .call("GET", &format!("/v1/tenants/{id}"), Some(ADMIN), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tenant["name"], "Rapid Plumbing");
    assert!(
        tenant.get("api_key").is_none(),
        "the key is shown only once"
    );

    let (status, tenant) = server
        .call(
            "PATCH",
            &format!("/v1/tenants/{id}"),
            Some(ADMIN),
            Some(json!({"plan": "pro"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tenant["plan"], "pro");
    assert_eq!(tenant["name"], "Rapid Plumbing");

    let (status, body) = server
        .call("GET", "/v1/tenants/ten_doesnotexist", Some(ADMIN), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["kind"], "not_found");
}

#[tokio::test]
async fn tenant_routes_refuse_bad_input() {
    let server = TestServer::start().await;
    for (body, field) in [
        (json!({"name": "x", "plan": "gold"}), "plan"),
        (json!({"name": "  ", "plan": "plus"}), "name"),
        (json!({"plan": "plus"}), "body"),
        (json!({"name": "x", "plan": "plus", "owner": "me"}), "owner"),
        (json!({"name": 7, "plan": "plus"}), "name"),
    ] {
        let (status, err) = server
            .call("POST", "/v1/tenants", Some(ADMIN), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert_eq!(err["error"]["kind"], "invalid_request");
        assert_eq!(err["error"]["fields"][0]["field"], field, "{body}: {err}");
    }
}

#[tokio::test]
async fn operator_routes_need_the_operator_token() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("pro").await;
    let body = Some(json!({"name": "x", "plan": "free"}));
    for token in [None, Some("wrong-token"), Some(key.as_str())] {
        let (status, err) = server
            .call("POST", "/v1/tenants", token, body.clone())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(err["error"]["kind"], "unauthorized");
    }
}

#[tokio::test]
async fn tenant_routes_need_a_live_tenant_key_of_the_right_scope() {
    let server = TestServer::start().await;
    let (_, manage) = server.tenant("plus").await;
    let (_, invoke) = server.key(&manage, "invoke").await;

    for token in [None, Some(ADMIN), Some("sbk_notarealkey")] {
        let (status, _) = server.call("GET", "/v1/tools", token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
    }
    let (status, err) = server.call("GET", "/v1/tools", Some(&invoke), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["error"]["kind"], "forbidden");
    assert!(err["error"]["message"].as_str().unwrap().contains("manage"));

    let (status, _) = server.call("GET", "/v1/tools", Some(&manage), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn keys_are_shown_once_listed_without_secrets_and_revocable() {
    let server = TestServer::start().await;
    let (_, manage) = server.tenant("plus").await;
    let (key_id, invoke) = server.key(&manage, "invoke").await;
    assert!(key_id.starts_with("key_"));
    assert!(invoke.starts_with("sbk_"));

    let (status, list) = server.call("GET", "/v1/keys", Some(&manage), None).await;
    assert_eq!(status, StatusCode::OK);
    let keys = list["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "the first manage key and the invoke key");
    assert!(
        !list.to_string().contains(&invoke[4..]),
        "no secret in the list"
    );
    assert!(
        !list.to_string().contains(&manage[4..]),
        "no secret in the list"
    );

    // The invoke key works, then stops working the moment it is revoked.
    let receiver = Receiver::start().await;
    server.tool(&manage, seed_tool(&receiver.url)).await;
    let args = json!({"zip_code": "94107", "service_type": "leak"});
    let result = server
        .invoke(
            &invoke,
            "receptionist",
            "check_availability_in_area",
            args.clone(),
        )
        .await;
    assert_eq!(result["ok"], true);

    let (status, _) = server
        .call("DELETE", &format!("/v1/keys/{key_id}"), Some(&manage), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = server
        .call(
            "POST",
            "/v1/agents/receptionist/invoke",
            Some(&invoke),
            Some(json!({"tool": "check_availability_in_area", "arguments": args})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    let (status, _) = server
        .call("DELETE", &format!("/v1/keys/{key_id}"), Some(&manage), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoking twice");
    let (status, err) = server
        .call(
            "POST",
            "/v1/keys",
            Some(&manage),
            Some(json!({"scope": "root"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["fields"][0]["field"], "scope");
}

#[tokio::test]
async fn free_plan_has_no_webhook_tools_and_a_downgrade_keeps_data() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;

    let (_, free) = server.tenant("free").await;
    let (status, err) = server
        .call(
            "POST",
            "/v1/tools",
            Some(&free),
            Some(seed_tool(&receiver.url)),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["error"]["kind"], "plan_required");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Plus plan"),
        "{err}"
    );

    let (id, plus) = server.tenant("plus").await;
    let tool = server.tool(&plus, seed_tool(&receiver.url)).await;
    let (status, _) = server
        .call(
            "PATCH",
            &format!("/v1/tenants/{id}"),
            Some(ADMIN),
            Some(json!({"plan": "free"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The data is kept and readable...
    let (status, list) = server.call("GET", "/v1/tools", Some(&plus), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["tools"][0]["id"], tool["id"]);
    // ...but invoking it is a result saying which plan is needed, and nothing is sent.
    let result = server.seed_call(&plus, "94107").await;
    assert_eq!(result["ok"], false);
    assert_eq!(result["error"]["kind"], "plan_required");
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Plus plan")
    );
    assert!(result["speech"].is_string());
    assert!(receiver.requests().is_empty());

    // Upgrading again brings the tool back to life.
    server
        .call(
            "PATCH",
            &format!("/v1/tenants/{id}"),
            Some(ADMIN),
            Some(json!({"plan": "plus"})),
        )
        .await;
    let result = server.seed_call(&plus, "94107").await;
    assert_eq!(result["ok"], true);
}
