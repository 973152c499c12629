//! Generation settings, read the way `transformers` reads them.

use std::path::Path;

use serde::Deserialize;

use super::DecodeError;
use crate::model::MarianConfig;

/// The generation settings of a checkpoint directory (optional).
pub const GENERATION_CONFIG_FILE: &str = "generation_config.json";

/// When beam search stops, as `generate`'s `early_stopping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarlyStopping {
    /// `False` (the default): stop when the best running beam, length-normalized at
    /// its current length, cannot beat the worst finished one.
    Heuristic,
    /// `True`: stop as soon as `num_beams` hypotheses are finished.
    Always,
    /// `"never"`: with a positive length penalty, assume running beams may grow to
    /// `max_length` (canonical beam search).
    Never,
}

/// Decoding settings.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationConfig {
    /// Beams per source; 1 is greedy search.
    pub num_beams: usize,
    /// Longest output in tokens, the decoder start token included.
    pub max_length: usize,
    /// Shortest output: `</s>` is banned while fewer tokens (start included) exist.
    pub min_length: usize,
    /// Token that ends a hypothesis.
    pub eos_token_id: u32,
    /// Token that fills finished rows and that Marian uses as decoder start.
    pub pad_token_id: u32,
    /// First decoder input.
    pub decoder_start_token_id: u32,
    /// Token sequences that may never be produced (the last token is banned when
    /// the output ends with the others).
    pub bad_words_ids: Vec<Vec<u32>>,
    /// Token forced at the last position `max_length - 1`.
    pub forced_eos_token_id: Option<u32>,
    /// Renormalize log-probabilities after the processors (`renormalize_logits`).
    pub renormalize_logits: bool,
    /// Exponent of the length normalization of finished hypotheses.
    pub length_penalty: f32,
    /// Stopping rule of beam search.
    pub early_stopping: EarlyStopping,
}

/// `early_stopping` as JSON: a boolean or `"never"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum EarlyStoppingJson {
    Flag(bool),
    Word(String),
}

/// `eos_token_id` as JSON: one id or a list (the first is used).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IdOrIds {
    One(u32),
    Many(Vec<u32>),
}

/// The generation fields of `generation_config.json` (or `config.json`).
#[derive(Debug, Default, Deserialize)]
struct GenerationJson {
    num_beams: Option<usize>,
    max_length: Option<usize>,
    min_length: Option<usize>,
    eos_token_id: Option<IdOrIds>,
    pad_token_id: Option<u32>,
    decoder_start_token_id: Option<u32>,
    bad_words_ids: Option<Vec<Vec<u32>>>,
    forced_eos_token_id: Option<IdOrIds>,
    renormalize_logits: Option<bool>,
    length_penalty: Option<f32>,
    early_stopping: Option<EarlyStoppingJson>,
}

fn first(ids: Option<IdOrIds>) -> Option<u32> {
    match ids? {
        IdOrIds::One(id) => Some(id),
        IdOrIds::Many(ids) => ids.first().copied(),
    }
}

impl GenerationConfig {
    /// `transformers`' defaults for a model config: ids from `cfg`, `max_length`
    /// 20, greedy, no processors, `length_penalty` 1, heuristic early stopping.
    pub fn defaults(cfg: &MarianConfig) -> Self {
        Self {
            num_beams: 1,
            max_length: 20,
            min_length: 0,
            eos_token_id: cfg.eos_token_id,
            pad_token_id: cfg.pad_token_id,
            decoder_start_token_id: cfg.decoder_start_token_id,
            bad_words_ids: Vec::new(),
            forced_eos_token_id: None,
            renormalize_logits: false,
            length_penalty: 1.0,
            early_stopping: EarlyStopping::Heuristic,
        }
    }

    /// The settings of a checkpoint directory: `generation_config.json` when it
    /// exists, else the generation fields of `config.json` (as `transformers`
    /// builds a generation config from an older model config), over
    /// [`GenerationConfig::defaults`], checked by [`Self::validate`].
    pub fn from_model_dir(dir: &Path, cfg: &MarianConfig) -> Result<Self, DecodeError> {
        let generation = dir.join(GENERATION_CONFIG_FILE);
        let path = if generation.is_file() { generation } else { dir.join("config.json") };
        let text = std::fs::read_to_string(&path).map_err(|e| DecodeError::SettingsFile {
            path: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        let in_file = |message: String| DecodeError::SettingsFile { path: path.display().to_string(), message };
        let out = Self::from_json(&text, cfg).map_err(in_file)?;
        match out.validate(cfg) {
            Err(DecodeError::Settings(e)) => Err(in_file(e)),
            other => other.map(|()| out),
        }
    }

    /// Parses generation fields from a JSON document over the defaults for `cfg`.
    pub fn from_json(text: &str, cfg: &MarianConfig) -> Result<Self, String> {
        let json: GenerationJson = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut out = Self::defaults(cfg);
        if let Some(v) = json.num_beams {
            out.num_beams = v;
        }
        if let Some(v) = json.max_length {
            out.max_length = v;
        }
        if let Some(v) = json.min_length {
            out.min_length = v;
        }
        if let Some(v) = first(json.eos_token_id) {
            out.eos_token_id = v;
        }
        if let Some(v) = json.pad_token_id {
            out.pad_token_id = v;
        }
        if let Some(v) = json.decoder_start_token_id {
            out.decoder_start_token_id = v;
        }
        if let Some(v) = json.bad_words_ids {
            out.bad_words_ids = v;
        }
        out.forced_eos_token_id = first(json.forced_eos_token_id);
        if let Some(v) = json.renormalize_logits {
            out.renormalize_logits = v;
        }
        if let Some(v) = json.length_penalty {
            out.length_penalty = v;
        }
        out.early_stopping = match json.early_stopping {
            None | Some(EarlyStoppingJson::Flag(false)) => EarlyStopping::Heuristic,
            Some(EarlyStoppingJson::Flag(true)) => EarlyStopping::Always,
            Some(EarlyStoppingJson::Word(w)) if w == "never" => EarlyStopping::Never,
            Some(EarlyStoppingJson::Word(w)) => {
                return Err(format!("early_stopping must be true, false or \"never\", not \"{w}\""));
            }
        };
        Ok(out)
    }

    /// Checks the settings against `model`: at least one beam and at most
    /// [`max_beams`] of its target vocabulary, `max_length` at least 2 (it counts
    /// the decoder start token), every token id inside the target vocabulary, no
    /// empty banned word. `max_length` above [`max_length_limit`] is not an error:
    /// decoding stops there (see [`GenerationConfig::fit`]).
    pub fn validate(&self, model: &MarianConfig) -> Result<(), DecodeError> {
        let vocab = model.target_vocab_size();
        let bad = |msg: String| Err(DecodeError::Settings(msg));
        if self.num_beams == 0 {
            return bad("num_beams must be at least 1".into());
        }
        let most = max_beams(vocab);
        if self.num_beams > most {
            return bad(format!(
                "num_beams {} is more than this model allows: at most {most} (each step ranks 2 × num_beams \
                 continuations, and the model has {vocab} target ids)",
                self.num_beams
            ));
        }
        if self.max_length < 2 {
            return bad(format!(
                "max_length {} leaves no room for output: it counts the decoder start token, so it must be at least 2",
                self.max_length
            ));
        }
        let ids = [self.eos_token_id, self.pad_token_id, self.decoder_start_token_id];
        let words = self.bad_words_ids.iter().flatten();
        if let Some(id) = ids.iter().chain(words).chain(&self.forced_eos_token_id).find(|&&id| id as usize >= vocab) {
            return bad(format!("token id {id} is outside the target vocabulary of {vocab}"));
        }
        if self.bad_words_ids.iter().any(Vec::is_empty) {
            return bad("bad_words_ids holds an empty sequence".into());
        }
        Ok(())
    }

    /// [`Self::validate`], then lowers `max_length` to [`max_length_limit`] when
    /// it is above: no output can grow past the model's position table. Returns
    /// a warning saying so when it lowered it.
    pub fn fit(&mut self, model: &MarianConfig) -> Result<Option<String>, DecodeError> {
        self.validate(model)?;
        let limit = max_length_limit(model);
        if self.max_length <= limit {
            return Ok(None);
        }
        let asked = std::mem::replace(&mut self.max_length, limit);
        Ok(Some(format!(
            "max_length {asked} is more than the model's position table allows; using {limit} \
             (max_position_embeddings {} plus the decoder start token)",
            model.max_position_embeddings
        )))
    }
}

/// The most beams a target vocabulary of `vocab` ids allows: beam search ranks
/// the `2 × num_beams` best continuations of each source (`transformers`'
/// top-k), which must be distinct ids of one row. Greedy search (one beam) needs
/// no more than one id.
pub fn max_beams(vocab: usize) -> usize {
    (vocab / 2).max(1)
}

/// The longest `max_length` `model` can run: the decoder reads every token
/// but the last at its own position, so `max_position_embeddings` positions
/// allow one more token.
pub fn max_length_limit(model: &MarianConfig) -> usize {
    model.max_position_embeddings.saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::generated::exact_shape_config;

    #[test]
    fn hub_generation_config_is_read() {
        let cfg = exact_shape_config();
        let json = r#"{"bad_words_ids": [[62833]], "bos_token_id": 0, "decoder_start_token_id": 62833,
            "eos_token_id": 0, "forced_eos_token_id": 0, "max_length": 512, "num_beams": 4,
            "pad_token_id": 62833, "renormalize_logits": true, "transformers_version": "4.27.0.dev0"}"#;
        let gen_cfg = GenerationConfig::from_json(json, &cfg).unwrap();
        assert_eq!(gen_cfg.num_beams, 4);
        assert_eq!(gen_cfg.max_length, 512);
        assert_eq!(gen_cfg.bad_words_ids, vec![vec![62833]]);
        assert_eq!(gen_cfg.forced_eos_token_id, Some(0));
        assert!(gen_cfg.renormalize_logits);
        assert_eq!(gen_cfg.early_stopping, EarlyStopping::Heuristic);
        assert_eq!(gen_cfg.length_penalty, 1.0);
        gen_cfg.validate(&cfg).unwrap();
    }

    #[test]
    fn early_stopping_forms_and_errors() {
        let cfg = exact_shape_config();
        let parse = |s: &str| GenerationConfig::from_json(s, &cfg);
        assert_eq!(parse(r#"{"early_stopping": true}"#).unwrap().early_stopping, EarlyStopping::Always);
        assert_eq!(parse(r#"{"early_stopping": "never"}"#).unwrap().early_stopping, EarlyStopping::Never);
        assert_eq!(parse(r#"{"eos_token_id": [3, 4]}"#).unwrap().eos_token_id, 3);
        assert_eq!(
            parse(r#"{"early_stopping": "sometimes"}"#).unwrap_err(),
            "early_stopping must be true, false or \"never\", not \"sometimes\""
        );
        let mut bad = parse("{}").unwrap();
        assert_eq!(bad.max_length, 20);
        bad.bad_words_ids = vec![vec![70000]];
        assert_eq!(
            bad.validate(&cfg).unwrap_err().to_string(),
            "invalid generation settings: token id 70000 is outside the target vocabulary of 62834"
        );
    }

    #[test]
    fn settings_that_can_never_work_are_rejected_without_overflow() {
        let cfg = exact_shape_config();
        let base = GenerationConfig::defaults(&cfg);
        let error = |change: &dyn Fn(&mut GenerationConfig)| {
            let mut g = base.clone();
            change(&mut g);
            g.validate(&cfg).map_err(|e| e.to_string()).err()
        };
        assert_eq!(
            error(&|g| g.num_beams = 0).as_deref(),
            Some("invalid generation settings: num_beams must be at least 1")
        );
        let too_many = "invalid generation settings: num_beams {} is more than this model allows: at most 31417 (each \
                        step ranks 2 × num_beams continuations, and the model has 62834 target ids)";
        for beams in [31418, usize::MAX / 2 + 1, usize::MAX] {
            assert_eq!(error(&|g| g.num_beams = beams), Some(too_many.replace("{}", &beams.to_string())));
        }
        assert_eq!(error(&|g| g.num_beams = 31417), None);
        for length in [0, 1] {
            assert_eq!(
                error(&|g| g.max_length = length),
                Some(format!(
                    "invalid generation settings: max_length {length} leaves no room for output: it counts the \
                     decoder start token, so it must be at least 2"
                ))
            );
        }
        assert_eq!(error(&|g| g.max_length = 2), None);
        assert_eq!(max_beams(1), 1, "one id still allows greedy search");
    }

    #[test]
    fn max_length_past_the_position_table_is_clamped_with_a_warning() {
        let cfg = exact_shape_config();
        let mut g = GenerationConfig::defaults(&cfg);
        g.max_length = 513;
        assert_eq!(g.fit(&cfg).unwrap(), None);
        assert_eq!(g.max_length, 513);
        g.max_length = usize::MAX;
        assert_eq!(
            g.fit(&cfg).unwrap(),
            Some(format!(
                "max_length {} is more than the model's position table allows; using 513 \
                 (max_position_embeddings 512 plus the decoder start token)",
                usize::MAX
            ))
        );
        assert_eq!(g.max_length, 513);
        g.num_beams = 0;
        assert!(g.fit(&cfg).is_err());
    }
}
