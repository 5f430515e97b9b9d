//! The [`DocumentStore`] contract.

use crate::{DocumentStore, ListQuery, Order, StoreError};
use serde_json::{json, Map, Value};

fn obj(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

/// The document store specification: create, conflict, list with filters,
/// order and paging, read, update, delete, truncate and clear-all.
pub async fn contract(store: &dyn DocumentStore) {
    let a = store
        .create(
            "notes",
            Some("a".into()),
            obj(json!({"kind": "x", "n": 2, "tags": {"p": true}})),
        )
        .await
        .unwrap();
    assert_eq!(a.id, "a");
    store
        .create("notes", None, obj(json!({"kind": "y", "n": 1})))
        .await
        .unwrap();
    store
        .create("notes", None, obj(json!({"kind": "x", "n": 3})))
        .await
        .unwrap();
    store
        .create("other", None, obj(json!({"kind": "x"})))
        .await
        .unwrap();
    assert!(matches!(
        store.create("notes", Some("a".into()), Map::new()).await,
        Err(StoreError::Conflict(_))
    ));

    let all = |q: ListQuery| async move {
        store
            .list("notes", ListQuery { limit: 100, ..q })
            .await
            .unwrap()
    };
    assert_eq!(all(ListQuery::default()).await.len(), 3);
    let xs = all(ListQuery {
        filter: [("kind".into(), json!("x"))].into(),
        ..Default::default()
    })
    .await;
    assert_eq!(xs.len(), 2);
    let nested = all(ListQuery {
        filter: [("tags.p".into(), json!(true))].into(),
        ..Default::default()
    })
    .await;
    assert_eq!(nested.len(), 1);
    let by_n: Vec<i64> = all(ListQuery {
        order_by: Some("n".into()),
        order: Order::Desc,
        ..Default::default()
    })
    .await
    .iter()
    .map(|d| d.data["n"].as_i64().unwrap())
    .collect();
    assert_eq!(by_n, vec![3, 2, 1]);
    let page = store
        .list(
            "notes",
            ListQuery {
                limit: 1,
                offset: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert!(matches!(
        store
            .list(
                "notes",
                ListQuery {
                    order_by: Some("n; DROP".into()),
                    limit: 1,
                    ..Default::default()
                }
            )
            .await,
        Err(StoreError::Invalid { .. })
    ));

    let updated = store
        .update(
            "notes",
            "a",
            obj(json!({"n": 5, "kind": null, "tags": {"q": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(
        Value::Object(updated.data.clone()),
        json!({"n": 5, "tags": {"p": true, "q": 1}})
    );
    assert_eq!(
        store.read("notes", "a").await.unwrap().unwrap().data,
        updated.data
    );
    assert!(matches!(
        store.update("notes", "zz", Map::new()).await,
        Err(StoreError::NotFound(_))
    ));

    assert!(store.delete("notes", "a").await.unwrap());
    assert!(!store.delete("notes", "a").await.unwrap());
    assert_eq!(store.truncate("notes").await.unwrap(), 2);
    assert_eq!(store.clear_all().await.unwrap(), 1);
    assert!(matches!(
        store.create("bad name!", None, Map::new()).await,
        Err(StoreError::Invalid { .. })
    ));

    // Filters over fields whose values differ in type across documents.
    store
        .create("mixed", Some("s".into()), obj(json!({"tag": "x"})))
        .await
        .unwrap();
    store
        .create("mixed", Some("o".into()), obj(json!({"tag": {"a": 1}})))
        .await
        .unwrap();
    store
        .create("mixed", Some("l".into()), obj(json!({"tag": [1, 2]})))
        .await
        .unwrap();
    let mixed = |value: Value| async move {
        let filter = [("tag".to_owned(), value)].into();
        let found = store
            .list(
                "mixed",
                ListQuery {
                    filter,
                    limit: 10,
                    ..ListQuery::default()
                },
            )
            .await
            .unwrap();
        found.into_iter().map(|d| d.id).collect::<Vec<_>>()
    };
    assert_eq!(mixed(json!({"a": 1})).await, ["o"]);
    assert_eq!(mixed(json!([1, 2])).await, ["l"]);
    assert_eq!(mixed(json!("x")).await, ["s"]);
    // Limits are invalid params naming the field, never backend errors.
    let wide: std::collections::BTreeMap<String, Value> =
        (0..1000).map(|n| (format!("f{n}"), json!(n))).collect();
    let err = store
        .list(
            "mixed",
            ListQuery {
                filter: wide,
                ..ListQuery::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid { ref field, .. } if field == "/filter"),
        "{err}"
    );
    for bad in ["a/b", "line\nbreak", "nul\0", ""] {
        let err = store
            .create("mixed", Some(bad.into()), Map::new())
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid { ref field, .. } if field == "/id"),
            "{bad:?}: {err}"
        );
    }
}
