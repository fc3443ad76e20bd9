//! The built-in embedder against reference vectors: `embed_data/` holds 64 texts of
//! `../shared/data/docs.jsonl` and their rows of `base.fvecs`, embedded by
//! sentence-transformers with all-MiniLM-L6-v2 (max 128 tokens, normalized). Ours must
//! agree (cosine >= 0.999) on every row. The model comes from `deploy/fetch-models.sh`.

mod support;

use std::path::Path;

use kektordb::embed::local::LocalModel;
use kektordb::engine::EmbedPurpose;

fn fixture() -> (Vec<String>, kektordb_io::Rows<f32>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/embed_data");
    let docs = std::fs::read_to_string(dir.join("docs.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["text"].as_str().unwrap().to_owned()
        })
        .collect();
    (
        docs,
        kektordb_io::read_fvecs(&dir.join("vectors.fvecs")).unwrap(),
    )
}

#[test]
fn matches_the_reference_vectors() {
    let models = support::models_dir();
    let dir = LocalModel::default_dir(&models).expect("the default model is installed");
    let model = LocalModel::load(&dir, None).unwrap();
    assert_eq!(model.dim(), 384);
    assert_eq!(model.max_tokens(), 128);
    let (docs, base) = fixture();
    assert_eq!(docs.len(), 64);
    let got = model.embed(&docs, EmbedPurpose::Passage);
    let mut worst = 1.0f32;
    for (i, v) in got.iter().enumerate() {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "row {i}: norm {norm}");
        let cos: f32 = v.iter().zip(base.row(i)).map(|(a, b)| a * b).sum();
        worst = worst.min(cos);
        assert!(cos >= 0.999, "row {i}: cosine {cos}");
    }
    eprintln!("{} rows, worst cosine {worst}", docs.len());
}

#[test]
fn batches_do_not_change_the_answer() {
    let dir = LocalModel::default_dir(&support::models_dir()).unwrap();
    let model = LocalModel::load(&dir, None).unwrap();
    let (docs, _) = fixture();
    let together = model.embed(&docs[..8], EmbedPurpose::Passage);
    for (i, d) in docs[..8].iter().enumerate() {
        let alone = model.embed(std::slice::from_ref(d), EmbedPurpose::Passage);
        let cos: f32 = alone[0].iter().zip(&together[i]).map(|(a, b)| a * b).sum();
        assert!(cos > 0.99999, "row {i}: {cos}");
    }
}

#[test]
fn a_missing_or_broken_model_is_a_clear_error() {
    let tmp = std::env::temp_dir().join(format!("kektor-badmodel-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let err = LocalModel::load(&tmp, None)
        .err()
        .expect("empty dir must fail")
        .to_string();
    assert!(err.contains("config.json"), "{err}");
    std::fs::write(tmp.join("config.json"), "{not json").unwrap();
    let err = LocalModel::load(&tmp, None).err().unwrap().to_string();
    assert!(err.contains("config.json"), "{err}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
