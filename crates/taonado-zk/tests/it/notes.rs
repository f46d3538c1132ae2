//! Note strings: round trips and rejections, over generated inputs.

use proptest::prelude::*;
use taonado_zk::{Note, NoteError};

fn note_strategy() -> impl Strategy<Value = Note> {
    (
        "[a-z][a-z0-9]{0,7}",
        prop_oneof!["[0-9]{1,6}", "[0-9]{1,3}\\.[0-9]{1,4}"],
        any::<u64>(),
        any::<[u8; 31]>(),
        any::<[u8; 31]>(),
    )
        .prop_map(|(currency, amount, chain_id, nullifier, secret)| {
            Note::from_parts(&currency, &amount, chain_id, nullifier, secret)
                .expect("the strategy only makes valid parts")
        })
}

proptest! {
    #[test]
    fn parse_inverts_format(note in note_strategy()) {
        let text = note.to_string();
        prop_assert_eq!(Note::parse(&text), Ok(note.clone()));
        prop_assert_eq!(text.parse::<Note>(), Ok(note));
    }

    #[test]
    fn truncated_or_extended_hex_is_rejected(note in note_strategy(), cut in 1usize..124, extra in "[0-9a-f]{1,8}") {
        let text = note.to_string();
        let truncated = &text[..text.len() - cut];
        let truncated_rejected = matches!(
            Note::parse(truncated),
            Err(NoteError::WrongHexLength { .. } | NoteError::BadShape { .. })
        );
        prop_assert!(truncated_rejected, "{} parsed", truncated);
        let extended = format!("{text}{extra}");
        let extended_rejected = matches!(Note::parse(&extended), Err(NoteError::WrongHexLength { .. }));
        prop_assert!(extended_rejected, "{} parsed", extended);
    }

    #[test]
    fn non_hex_characters_are_rejected(note in note_strategy(), position in 0usize..124, bad in "[g-zG-Z_!.]") {
        let text = note.to_string();
        let hex_start = text.len() - 124;
        let mut corrupted = text.clone();
        corrupted.replace_range(hex_start + position..hex_start + position + 1, &bad);
        let rejected = matches!(
            Note::parse(&corrupted),
            Err(NoteError::NonHex { position: p, .. }) if p == position
        );
        prop_assert!(rejected, "{} parsed", corrupted);
    }

    #[test]
    fn other_prefixes_are_rejected(note in note_strategy(), prefix in "[a-z]{1,10}-") {
        prop_assume!(prefix != "taonado-");
        let text = note.to_string().replacen("taonado-", &prefix, 1);
        let rejected = matches!(Note::parse(&text), Err(NoteError::WrongPrefix { .. }));
        prop_assert!(rejected, "{} parsed", text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = Note::parse(&text);
    }

    #[test]
    fn chain_and_pool_are_checked(note in note_strategy(), other_chain in any::<u64>()) {
        prop_assume!(!note.is_legacy() && other_chain != note.chain_id());
        let pools = [(note.currency(), note.amount())];
        prop_assert!(note.check_network(note.chain_id(), &pools).is_ok());
        let mismatch = note.check_network(other_chain, &pools);
        let chain_rejected = matches!(mismatch, Err(NoteError::ChainIdMismatch { .. }));
        prop_assert!(chain_rejected, "{:?}", mismatch);
        let no_pool = note.check_network(note.chain_id(), &[(note.currency(), "0.000001x")]);
        let pool_rejected = matches!(no_pool, Err(NoteError::NoSuchPool { .. }));
        prop_assert!(pool_rejected, "{:?}", no_pool);
    }
}

#[test]
fn generated_notes_have_fresh_values_and_consistent_hashes() {
    let mut rng = rand::rng();
    let a = Note::generate("wtao", "1", 945, &mut rng).expect("valid parts");
    let b = Note::generate("wtao", "1", 945, &mut rng).expect("valid parts");
    assert_ne!(a.nullifier_bytes(), b.nullifier_bytes());
    assert_ne!(a.commitment(), b.commitment());
    assert_eq!(
        Note::parse(&a.to_string()).map(|n| n.commitment()),
        Ok(a.commitment())
    );
    assert!(Note::generate("WTAO", "1", 945, &mut rng).is_err());
    assert!(Note::generate("wtao", "1e3", 945, &mut rng).is_err());
}
