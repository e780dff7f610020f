//! The search index: derived data, rebuilt from the database and the blobs by `greffier
//! reindex`. tantivy allows one writer per index folder, so a process opens the writer once,
//! lazily, and the index stage feeds it in batches: delete by document id, add, commit.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::QueryParser;
use tantivy::schema::{
    Field, IndexRecordOption, JsonObjectOptions, Schema, TextFieldIndexing, TextOptions, Value,
    FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::error::StorageError;

/// What the index holds of one document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexDoc {
    pub id: i64,
    pub text: String,
    pub source: String,
    pub source_path: String,
    pub format: String,
    pub doc_type: String,
    pub status: String,
    pub clients: Vec<String>,
    pub invoices: Vec<String>,
    pub forms: Vec<String>,
    /// ISO dates found by the rules (any key of type date).
    pub dates: Vec<String>,
    pub keys: BTreeMap<String, String>,
    /// Spool and capture attributes (`splf.form_type`, `lpd.queue` …), searched as
    /// `meta.splf.form_type:FACT`.
    pub metadata: BTreeMap<String, String>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SearchHit {
    pub id: i64,
    pub score: f32,
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    text: Field,
    path: Field,
    source: Field,
    format: Field,
    doc_type: Field,
    status: Field,
    client: Field,
    invoice: Field,
    form: Field,
    date: Field,
    keys: Field,
    meta: Field,
}

/// The tantivy index in the data folder.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    writer: Mutex<Option<IndexWriter>>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

/// A map of strings as a tantivy JSON object.
fn json_object(map: &BTreeMap<String, String>) -> BTreeMap<String, tantivy::schema::OwnedValue> {
    map.iter()
        .map(|(name, value)| {
            (
                name.clone(),
                tantivy::schema::OwnedValue::Str(value.clone()),
            )
        })
        .collect()
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let words = TextFieldIndexing::default()
        .set_tokenizer("fr")
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text_options = TextOptions::default().set_indexing_options(words.clone());
    let raw_json = JsonObjectOptions::default()
        .set_stored()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::Basic),
        );
    let fields = Fields {
        id: builder.add_u64_field("id", INDEXED | STORED | FAST),
        text: builder.add_text_field("text", text_options.clone()),
        path: builder.add_text_field("path", text_options.set_stored()),
        source: builder.add_text_field("source", STRING | STORED),
        format: builder.add_text_field("format", STRING | STORED),
        doc_type: builder.add_text_field("type", STRING | STORED),
        status: builder.add_text_field("status", STRING | STORED),
        client: builder.add_text_field("client", STRING | STORED),
        invoice: builder.add_text_field("invoice", STRING | STORED),
        form: builder.add_text_field("form", STRING | STORED),
        date: builder.add_text_field("date", STRING | STORED),
        keys: builder.add_json_field("keys", raw_json.clone()),
        meta: builder.add_json_field("meta", raw_json.set_expand_dots_enabled()),
    };
    (builder.build(), fields)
}

impl SearchIndex {
    /// Opens (or creates) the index in `dir`.
    pub fn open(dir: &Path) -> Result<SearchIndex, StorageError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let directory = MmapDirectory::open(dir).map_err(|error| {
            StorageError::Invalid(format!(
                "cannot open index folder {}: {error}",
                dir.display()
            ))
        })?;
        let index = match Index::open_or_create(directory, schema.clone()) {
            Ok(index) => index,
            Err(tantivy::TantivyError::SchemaError(reason)) => {
                // Derived data from an older version: start it again, `greffier reindex` refills it.
                tracing::warn!(%reason, dir = %dir.display(), "search index schema changed: index recreated, run greffier reindex");
                std::fs::remove_dir_all(dir)?;
                std::fs::create_dir_all(dir)?;
                let directory = MmapDirectory::open(dir).map_err(|error| {
                    StorageError::Invalid(format!(
                        "cannot open index folder {}: {error}",
                        dir.display()
                    ))
                })?;
                Index::open_or_create(directory, schema)?
            }
            Err(error) => return Err(error.into()),
        };
        let french = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(64))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .build();
        index.tokenizers().register("fr", french);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            writer: Mutex::new(None),
        })
    }

    fn with_writer<T>(
        &self,
        work: impl FnOnce(&mut IndexWriter, &Fields) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| StorageError::Invalid("index writer lock poisoned".into()))?;
        if guard.is_none() {
            *guard = Some(self.index.writer_with_num_threads(1, 50_000_000)?);
        }
        match guard.as_mut() {
            Some(writer) => work(writer, &self.fields),
            None => Err(StorageError::Invalid("index writer missing".into())),
        }
    }

    /// Replaces these documents in the index and commits. Safe to repeat.
    pub fn upsert(&self, docs: &[IndexDoc]) -> Result<(), StorageError> {
        self.with_writer(|writer, fields| {
            for doc in docs {
                let id = u64::try_from(doc.id).unwrap_or_default();
                writer.delete_term(Term::from_field_u64(fields.id, id));
                let mut entry = TantivyDocument::default();
                entry.add_u64(fields.id, id);
                entry.add_text(fields.text, &doc.text);
                entry.add_text(fields.path, &doc.source_path);
                entry.add_text(fields.source, &doc.source);
                entry.add_text(fields.format, &doc.format);
                entry.add_text(fields.doc_type, &doc.doc_type);
                entry.add_text(fields.status, &doc.status);
                for client in &doc.clients {
                    entry.add_text(fields.client, client);
                }
                for invoice in &doc.invoices {
                    entry.add_text(fields.invoice, invoice);
                }
                for form in &doc.forms {
                    entry.add_text(fields.form, form);
                }
                for date in &doc.dates {
                    entry.add_text(fields.date, date);
                }
                entry.add_object(fields.keys, json_object(&doc.keys));
                entry.add_object(fields.meta, json_object(&doc.metadata));
                writer.add_document(entry)?;
            }
            writer.commit()?;
            Ok(())
        })
    }

    /// Empties the index (first step of a rebuild).
    pub fn clear(&self) -> Result<(), StorageError> {
        self.with_writer(|writer, _| {
            writer.delete_all_documents()?;
            writer.commit()?;
            Ok(())
        })
    }

    /// Full text plus field queries: `crème brûlée`, `client:CL004711`, `type:invoice AND date:2024-03-15`,
    /// `keys.total:27.00`. Words are ANDed by default.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, StorageError> {
        self.reader.reload()?;
        let searcher = self.reader.searcher();
        let mut parser =
            QueryParser::for_index(&self.index, vec![self.fields.text, self.fields.path]);
        parser.set_conjunction_by_default();
        let parsed = parser.parse_query(query)?;
        let top = searcher.search(&parsed, &TopDocs::with_limit(limit.max(1)))?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let stored: TantivyDocument = searcher.doc(address)?;
            let Some(id) = stored
                .get_first(self.fields.id)
                .and_then(|value| value.as_u64())
            else {
                continue;
            };
            hits.push(SearchHit {
                id: i64::try_from(id).unwrap_or_default(),
                score,
            });
        }
        // Equal scores come in segment order, which depends on how batches were committed:
        // order them by id so a search answers the same after `greffier reindex`.
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        Ok(hits)
    }

    /// How many documents the index holds.
    pub fn count(&self) -> Result<u64, StorageError> {
        self.reader.reload()?;
        Ok(self.reader.searcher().num_docs())
    }
}
