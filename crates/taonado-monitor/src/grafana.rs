//! A Grafana dashboard (JSON model) for the metrics in [`crate::metrics::METRICS`], to be
//! imported into Grafana with a Prometheus data source that scrapes `/metrics`.

use serde_json::{Value, json};

use crate::metrics::METRICS;

/// Label sets worth splitting a panel by, per metric.
fn legend(name: &str) -> &'static str {
    match name {
        "pool_anonymity_set" | "pool_balance_tao" => "{{pool}}",
        "contract_up" => "{{contract}}",
        "alerts_firing" => "{{severity}}",
        "outbox_messages" => "{{state}}",
        _ => "{{instance}}",
    }
}

/// The dashboard model; `${DS_PROMETHEUS}` is bound to a data source on import.
pub fn dashboard(title: &str) -> Value {
    let panels: Vec<Value> = METRICS
        .iter()
        .enumerate()
        .map(|(i, (name, help))| {
            let id = i + 1;
            let (x, y) = ((i % 3) * 8, (i / 3) * 8);
            json!({
                "id": id,
                "type": "timeseries",
                "title": name.replace('_', " "),
                "description": help,
                "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                "gridPos": {"x": x, "y": y, "w": 8, "h": 8},
                "targets": [{
                    "refId": "A",
                    "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                    "expr": format!("taonado_{name}"),
                    "legendFormat": legend(name),
                }],
                "fieldConfig": {"defaults": {}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
            })
        })
        .collect();
    json!({
        "__inputs": [{
            "name": "DS_PROMETHEUS",
            "label": "Prometheus",
            "type": "datasource",
            "pluginId": "prometheus",
            "pluginName": "Prometheus",
        }],
        "title": title,
        "uid": "taonado-monitor",
        "tags": ["taonado", "bittensor"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "panels": panels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_a_panel_with_its_query() {
        let d = dashboard("Taonado");
        let panels = d["panels"].as_array().unwrap();
        assert_eq!(panels.len(), METRICS.len());
        for (panel, (name, _)) in panels.iter().zip(METRICS) {
            assert_eq!(panel["targets"][0]["expr"], format!("taonado_{name}"));
        }
        let ids: std::collections::BTreeSet<_> =
            panels.iter().map(|p| p["id"].as_u64().unwrap()).collect();
        assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    }
}
