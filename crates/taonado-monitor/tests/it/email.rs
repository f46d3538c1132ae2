//! E-mail delivery to a minimal SMTP receiver on loopback.

use std::sync::{Arc, Mutex};

use taonado_monitor::{DeliveryPolicy, Dispatcher, EmailNotifier, Notifier};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Accepts SMTP sessions and keeps each message's DATA.
async fn smtp_receiver() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let store = messages.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write
                    .write_all(b"220 localhost ESMTP test\r\n")
                    .await
                    .unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            store.lock().unwrap().push(std::mem::take(body));
                            data = None;
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 localhost\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, messages)
}

#[tokio::test]
async fn test_alert_arrives_by_email_with_the_idempotency_key_as_message_id() {
    for store in taonado_store::testing::each_backend(
        "test_alert_arrives_by_email_with_the_idempotency_key_as_message_id",
    ) {
        let (port, messages) = smtp_receiver().await;
        let mail: Arc<dyn Notifier> = Arc::new(
            EmailNotifier::new(
                "mail",
                &format!("smtp://127.0.0.1:{port}"),
                None,
                "taonado <alerts@taonado.test>",
                &["oncall@taonado.test".to_owned()],
            )
            .unwrap(),
        );
        let keys = store
            .enqueue_test_alert(&["mail".to_owned()], "smtp works", 0)
            .unwrap();
        let d = Dispatcher::new(
            store.clone(),
            "local".into(),
            vec![mail],
            DeliveryPolicy::default(),
        );
        let report = d.deliver_due(0).await.unwrap();
        assert_eq!(report.sent, 1, "{report:?}");
        let messages = messages.lock().unwrap().clone();
        assert_eq!(messages.len(), 1);
        let text = &messages[0];
        assert!(
            text.contains("Subject: [taonado local] TEST INFO: smtp works"),
            "{text}"
        );
        assert!(
            text.contains(&format!("Message-ID: <{}@taonado>", keys[0])),
            "{text}"
        );
        assert!(text.contains("To: oncall@taonado.test"), "{text}");
    }
}
