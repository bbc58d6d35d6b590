use pkg_api::{Analysis, KeyPhrase, Keyword, Readability, Sentiment};
use pkg_service::on_db;
use pkg_service::sqlite::traced;
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::Store;
use super::cursor::{Page, paginate};
use crate::ScrapedPage;

/// A stored document, as its row holds it (JSON columns as text).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Document {
    pub id: String,
    pub url: String,
    pub final_url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub published_at: Option<String>,
    pub language: String,
    pub word_count: i64,
    pub reading_time_s: i64,
    pub readability: String,
    pub sentiment: String,
    pub keywords: String,
    pub key_phrases: String,
    pub tags: String,
    pub quality: f64,
    pub link_count: i64,
    pub fetched_at: String,
    pub analyzed_at: String,
    pub trace_id: Option<String>,
}

impl Document {
    /// The API's view (the schema of the OpenAPI document): JSON columns as JSON (`null` if a
    /// column does not parse), plus a link to the trace that produced it.
    pub fn view(&self, grafana_url: &str) -> DocumentView {
        // A column holds what `to_json` wrote of the API's own type, so its text is served as
        // it is: checked to be JSON, not parsed into that type only to be written out again.
        fn parse(column: &str) -> Option<Box<RawValue>> {
            serde_json::from_str(column).ok()
        }
        DocumentView {
            id: self.id.clone(),
            url: self.url.clone(),
            final_url: self.final_url.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            author: self.author.clone(),
            published_at: self.published_at.clone(),
            language: self.language.clone(),
            word_count: self.word_count,
            reading_time_s: self.reading_time_s,
            readability: parse(&self.readability),
            sentiment: parse(&self.sentiment),
            keywords: parse(&self.keywords),
            key_phrases: parse(&self.key_phrases),
            tags: parse(&self.tags),
            quality: self.quality,
            link_count: self.link_count,
            fetched_at: self.fetched_at.clone(),
            analyzed_at: self.analyzed_at.clone(),
            trace_id: self.trace_id.clone(),
            trace_url: self.trace_id.as_deref().map(|t| crate::trace_link::trace_url_json(grafana_url, t)),
        }
    }
}

/// A stored document as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub id: String,
    /// The URL as submitted (normalised).
    pub url: String,
    /// The URL after redirects.
    pub final_url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub published_at: Option<String>,
    /// The analyzer's language code (`en`; `und` when undetermined).
    pub language: String,
    pub word_count: i64,
    pub reading_time_s: i64,
    #[schema(value_type = Option<Readability>)]
    pub readability: Option<Box<RawValue>>,
    #[schema(value_type = Option<Sentiment>)]
    pub sentiment: Option<Box<RawValue>>,
    #[schema(value_type = Option<Vec<Keyword>>)]
    pub keywords: Option<Box<RawValue>>,
    #[schema(value_type = Option<Vec<KeyPhrase>>)]
    pub key_phrases: Option<Box<RawValue>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Option<Box<RawValue>>,
    /// 0..1.
    pub quality: f64,
    pub link_count: i64,
    pub fetched_at: String,
    pub analyzed_at: String,
    pub trace_id: Option<String>,
    #[schema(value_type = Option<String>)]
    pub trace_url: Option<Box<RawValue>>,
}

pub struct NewDocument<'a> {
    pub url: &'a str,
    pub page: &'a ScrapedPage,
    pub analysis: &'a Analysis,
    pub fetched_at: String,
    pub analyzed_at: String,
    pub trace_id: Option<String>,
}

#[derive(Debug, serde::Serialize, sqlx::FromRow, ToSchema)]
pub struct TagCount {
    pub tag: String,
    pub count: i64,
}

/// The column list, as a macro so queries stay `&'static str` (sqlx refuses built strings).
macro_rules! document_columns {
    () => {
        "id, url, final_url, title, description, author, published_at, language, word_count, \
    reading_time_s, readability, sentiment, keywords, key_phrases, tags, quality, link_count, fetched_at, \
    analyzed_at, trace_id"
    };
}

impl Store {
    pub async fn document_by_url(&self, url: &str) -> Result<Option<Document>, sqlx::Error> {
        let sql = concat!("SELECT ", document_columns!(), " FROM documents WHERE url = $1");
        traced(self.spans.span("SELECT", "documents"), async {
            on_db!(&self.db, read | pool | sqlx::query_as(sql).bind(url).fetch_optional(pool).await)
        })
        .await
    }

    pub async fn document(&self, id: &str) -> Result<Option<Document>, sqlx::Error> {
        let sql = concat!("SELECT ", document_columns!(), " FROM documents WHERE id = $1");
        traced(self.spans.span("SELECT", "documents"), async {
            on_db!(&self.db, read | pool | sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
        })
        .await
    }

    /// Newest first; only documents tagged `tag` if given.
    pub async fn documents(
        &self,
        tag: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<Document>, sqlx::Error> {
        let sql = match tag {
            None => concat!(
                "SELECT ",
                document_columns!(),
                " FROM documents WHERE (CAST($1 AS TEXT) IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
            ),
            Some(_) => concat!(
                "SELECT ",
                document_columns!(),
                " FROM documents WHERE (CAST($1 AS TEXT) IS NULL OR id < $1) \
                 AND id IN (SELECT document_id FROM document_tags WHERE tag = $3) ORDER BY id DESC LIMIT $2"
            ),
        };
        let rows: Vec<Document> = traced(self.spans.span("SELECT", "documents"), async {
            on_db!(
                &self.db,
                read | pool | {
                    let query = sqlx::query_as::<_, Document>(sql).bind(after).bind(limit + 1);
                    // Only the tag variant has a third parameter (PostgreSQL refuses extras).
                    match tag {
                        Some(tag) => query.bind(tag),
                        None => query,
                    }
                    .fetch_all(pool)
                    .await
                }
            )
        })
        .await?;
        Ok(paginate(rows, limit, |d| &d.id))
    }

    /// Inserts, or replaces the earlier scrape of the same URL (keeping its id), with its tags.
    /// The stored document, and true if it is new (false: an earlier one of the URL updated).
    pub async fn upsert_document(&self, new: NewDocument<'_>) -> Result<(Document, bool), sqlx::Error> {
        let a = new.analysis;
        let id = uuid::Uuid::now_v7().to_string();
        let span = self.spans.span("INSERT", "documents");
        let sql = concat!("INSERT INTO documents (", document_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
             ON CONFLICT(url) DO UPDATE SET final_url = excluded.final_url, title = excluded.title,
               description = excluded.description, author = excluded.author, published_at = excluded.published_at,
               language = excluded.language, word_count = excluded.word_count, reading_time_s = excluded.reading_time_s,
               readability = excluded.readability, sentiment = excluded.sentiment, keywords = excluded.keywords,
               key_phrases = excluded.key_phrases, tags = excluded.tags, quality = excluded.quality,
               link_count = excluded.link_count, fetched_at = excluded.fetched_at, analyzed_at = excluded.analyzed_at,
               trace_id = excluded.trace_id
             RETURNING ", document_columns!());
        // Boxed: with both engines' queries and twenty bindings this future is kilobytes (~20
        // KB with the old transaction), and unboxed it made every future awaiting it (the
        // pipeline's, the request handler's) as big, copied whole each time one of them moved.
        let write = Box::pin(async {
            on_db!(
                &self.db,
                write | pool | {
                    // One statement: the database copies the tags into document_tags (a
                    // trigger, migrations 0003 on SQLite and 0002 on PostgreSQL) inside the
                    // statement's own transaction.
                    sqlx::query_as::<_, Document>(sql)
                        .bind(&id)
                        .bind(new.url)
                        .bind(&new.page.final_url)
                        .bind(&new.page.title)
                        .bind(&new.page.description)
                        .bind(&new.page.author)
                        .bind(&new.page.published_at)
                        .bind(&a.language.code)
                        .bind(a.counts.words as i64)
                        .bind(i64::from(a.reading_time_s))
                        .bind(to_json(&a.readability))
                        .bind(to_json(&a.sentiment))
                        .bind(to_json(&a.keywords))
                        .bind(to_json(&a.key_phrases))
                        .bind(to_json(&a.tags))
                        .bind(a.quality)
                        .bind(new.page.links.len() as i64)
                        .bind(&new.fetched_at)
                        .bind(&new.analyzed_at)
                        .bind(&new.trace_id)
                        .fetch_one(pool)
                        .await
                }
            )
        });
        // An update keeps the row's id; only an insert stores the id made here.
        traced(span, write).await.map(|document| {
            let inserted = document.id == id;
            (document, inserted)
        })
    }

    /// True if there was such a document.
    pub async fn delete_document(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = traced(self.spans.span("DELETE", "documents"), async {
            on_db!(
                &self.db,
                write
                    | pool
                    | sqlx::query("DELETE FROM documents WHERE id = $1")
                        .bind(id)
                        .execute(pool)
                        .await
                        .map(|d| d.rows_affected())
            )
        })
        .await?;
        Ok(done > 0)
    }

    /// Every tag with how many documents carry it, most used first.
    pub async fn tags(&self) -> Result<Vec<TagCount>, sqlx::Error> {
        traced(
            self.spans.span("SELECT", "document_tags"),
            async {
                on_db!(&self.db, read |pool| {
                    sqlx::query_as(
                        "SELECT tag, COUNT(*) AS count FROM document_tags GROUP BY tag ORDER BY count DESC, tag ASC",
                    )
                    .fetch_all(pool)
                    .await
                })
            },
        )
        .await
    }
}

/// An analysis part as a JSON column; these types always serialise.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use pkg_api::{KeyPhrase, Keyword, Readability, Sentiment};
    use serde::de::DeserializeOwned;

    use super::{Document, to_json};

    /// What the view wrote of a column when it parsed it into the API's type.
    fn typed<T: DeserializeOwned + serde::Serialize>(column: &str) -> String {
        to_json(&serde_json::from_str::<T>(column).unwrap())
    }

    /// A stored analysis is served as its columns' text, which is what the view wrote when it
    /// parsed them into the API's types; a column that is no JSON is `null`.
    #[test]
    fn json_columns_are_served_as_stored_as_the_typed_view_wrote_them() {
        let analysis = skein_analyzer::analysis::analyze(
            "Gardens need \"water\". Gardens need soil, seeds and water: 0.1 + 0.2 of a can. \
             Gardeners water gardens daily.",
        );
        let document = Document {
            id: "0190b2a4-7c6e-7b3a-9f00-0123456789ab".into(),
            url: "http://site.test/a".into(),
            final_url: "http://site.test/a".into(),
            title: None,
            description: None,
            author: None,
            published_at: None,
            language: analysis.language.code.clone(),
            word_count: 1,
            reading_time_s: 1,
            readability: to_json(&analysis.readability),
            sentiment: to_json(&analysis.sentiment),
            keywords: to_json(&analysis.keywords),
            key_phrases: to_json(&analysis.key_phrases),
            tags: to_json(&analysis.tags),
            quality: analysis.quality,
            link_count: 0,
            fetched_at: "2024-01-02T03:04:05.000000Z".into(),
            analyzed_at: "2024-01-02T03:04:05.000000Z".into(),
            trace_id: None,
        };
        assert!(!analysis.keywords.is_empty() && !analysis.tags.is_empty());
        let served = serde_json::to_string(&document.view("http://grafana.test")).unwrap();
        for (name, column, typed) in [
            ("readability", &document.readability, typed::<Readability>(&document.readability)),
            ("sentiment", &document.sentiment, typed::<Sentiment>(&document.sentiment)),
            ("keywords", &document.keywords, typed::<Vec<Keyword>>(&document.keywords)),
            ("key_phrases", &document.key_phrases, typed::<Vec<KeyPhrase>>(&document.key_phrases)),
            ("tags", &document.tags, typed::<Vec<String>>(&document.tags)),
        ] {
            assert_eq!(column, &typed, "{name}");
            assert!(served.contains(&format!(r#""{name}":{column},"#)), "{name}: {served}");
        }

        let broken = Document { keywords: "[{\"term\":".into(), ..document };
        let served = serde_json::to_value(broken.view("http://grafana.test")).unwrap();
        assert_eq!(served["keywords"], serde_json::Value::Null);
    }
}
