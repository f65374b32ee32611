//! The one paged lister: page 1, then, when the provider says how many pages there are, the
//! rest a few at a time; when it does not, the provider's next-page pointer one page after
//! the other. Serves every provider whose pagination allows it (GitHub, GitLab, Bitbucket).

use super::repository::{PageSink, RemoteRepository, deliver};
use crate::http::FetchError;
use futures::{StreamExt, TryStreamExt};
use std::future::Future;

/// Pages fetched at once for one listing.
const CONCURRENT_PAGES: usize = 4;

/// Most pages one listing follows (10 million repositories at 100 a page): a provider claiming
/// more is not believed.
const MAX_PAGES: u64 = 100_000;

/// Where a page is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cursor {
    /// By number, from 1.
    Number(u64),
    /// By the URL the provider gave for it.
    Url(String),
}

/// One page of a listing.
pub(crate) struct Page<T> {
    /// Its repositories, in the provider's shape.
    pub items: Vec<T>,
    /// How many pages there are, when the provider says (on the first page).
    pub total_pages: Option<u64>,
    /// The next page, when the total is unknown.
    pub next: Option<Cursor>,
}

/// A provider's paged listing of one scope.
pub(crate) trait PagedSource: Sync {
    /// A repository as the provider lists it.
    type Item: Into<RemoteRepository> + Send;

    /// Fetches the page at `cursor`.
    fn fetch(
        &self,
        cursor: Cursor,
    ) -> impl Future<Output = Result<Page<Self::Item>, FetchError>> + Send;
}

/// Lists every page of `source` into `pages`.
pub(crate) async fn list_all<S: PagedSource>(
    source: &S,
    pages: &PageSink,
) -> Result<(), FetchError> {
    let first = source.fetch(Cursor::Number(1)).await?;
    let (total, mut next, full) = (first.total_pages, first.next, first.items.len());
    deliver(pages, first.items).await?;
    if let Some(total) = total {
        if total > MAX_PAGES {
            return Err(FetchError::Protocol(format!(
                "the provider claims {total} pages of repositories, more than Tether lists ({MAX_PAGES})"
            )));
        }
        return list_numbered(source, pages, total).await;
    }
    // Numbered pages with no total (GitLab stops counting past 10,000 records): fetched ahead.
    if next == Some(Cursor::Number(2)) && full > 0 {
        return list_ahead(source, pages, full).await;
    }
    let (mut followed, mut last_number) = (1u64, 1u64);
    let mut seen_urls = std::collections::HashSet::new();
    while let Some(cursor) = next.take() {
        // A next page must move forward (a larger number, a URL not seen before), or a provider
        // could keep us turning in place.
        match &cursor {
            Cursor::Number(n) if *n <= last_number => break,
            Cursor::Number(n) => last_number = *n,
            Cursor::Url(url) if !seen_urls.insert(url.clone()) => break,
            Cursor::Url(_) => {}
        }
        followed += 1;
        if followed > MAX_PAGES {
            return Err(FetchError::Protocol(format!(
                "the provider's listing goes on past {MAX_PAGES} pages"
            )));
        }
        let page = source.fetch(cursor).await?;
        next = page.next;
        deliver(pages, page.items).await?;
    }
    Ok(())
}

/// Pages fetched ahead of the last answer when the total is unknown: the requests this costs
/// past the end of the data are at most this many less one.
const PAGES_AHEAD: usize = 8;

/// Pages 2, 3, … of a listing that numbers its pages but did not say how many there are (a
/// GitLab group past 10,000 projects): [`PAGES_AHEAD`] pages at a time, each answer making room
/// for the next number, until a page is short, empty or names no next page. Pages past that end
/// are not asked for; those already asked for are read and, if empty, wasted (fewer than
/// [`PAGES_AHEAD`]). `full` is the first page's size.
async fn list_ahead<S: PagedSource>(
    source: &S,
    pages: &PageSink,
    full: usize,
) -> Result<(), FetchError> {
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let mut next_number = 2u64;
    // The last page with data, once an answer tells.
    let mut last: Option<u64> = None;
    loop {
        while in_flight.len() < PAGES_AHEAD
            && last.is_none_or(|last| next_number <= last)
            && next_number <= MAX_PAGES
        {
            let n = next_number;
            next_number += 1;
            in_flight.push(async move { source.fetch(Cursor::Number(n)).await.map(|p| (n, p)) });
        }
        let Some(answer) = in_flight.next().await else {
            break;
        };
        let (n, page) = answer?;
        let end = match page.items.len() {
            0 => Some(n - 1),
            len if len < full || page.next.is_none() => Some(n),
            _ => None,
        };
        if let Some(end) = end {
            last = Some(last.map_or(end, |last| last.min(end)));
        }
        deliver(pages, page.items).await?;
    }
    if last.is_none() && next_number > MAX_PAGES {
        return Err(FetchError::Protocol(format!(
            "the provider's listing goes on past {MAX_PAGES} pages"
        )));
    }
    Ok(())
}

/// Pages 2 to `total` of a listing whose first page announced `total`, a few at a time. The
/// count is believed only as far as the data goes: an empty page inside the announced range
/// means the listing is inconsistent (or the count is made up), so no page past it is asked
/// for, before a fabricated count can cost thousands of requests. The pages that did come are
/// delivered, and the listing ends in a protocol error (the run is `PARTIAL`: nothing is
/// marked gone on an inconsistent listing).
async fn list_numbered<S: PagedSource>(
    source: &S,
    pages: &PageSink,
    total: u64,
) -> Result<(), FetchError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let first_empty = AtomicU64::new(u64::MAX);
    let first_empty = &first_empty;
    futures::stream::iter(2..=total)
        .map(|n| async move {
            if n > first_empty.load(Ordering::Relaxed) {
                return Ok(None);
            }
            source
                .fetch(Cursor::Number(n))
                .await
                .map(|page| Some((n, page)))
        })
        .buffer_unordered(CONCURRENT_PAGES)
        .try_for_each(|fetched| async move {
            match fetched {
                Some((n, page)) if page.items.is_empty() => {
                    first_empty.fetch_min(n, Ordering::Relaxed);
                    Ok(())
                }
                Some((_, page)) => deliver(pages, page.items).await,
                None => Ok(()),
            }
        })
        .await?;
    match first_empty.load(Ordering::Relaxed) {
        u64::MAX => Ok(()),
        n => Err(FetchError::Protocol(format!(
            "page {n} of the {total} the provider announced is empty: its page count does not match its data"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entities::Visibility;
    use std::sync::Mutex;

    struct Item(u64);

    impl From<Item> for RemoteRepository {
        fn from(Item(n): Item) -> Self {
            RemoteRepository {
                external_id: n.to_string(),
                name: n.to_string(),
                full_name: n.to_string(),
                web_url: None,
                clone_url: None,
                default_branch: None,
                visibility: Visibility::Private,
                archived: false,
                disabled: false,
                fork: false,
                language: None,
                size_kb: None,
                topics: Vec::new(),
                last_pushed_at: None,
            }
        }
    }

    /// `pages` pages of two items; `total` says whether page 1 tells the total, `next` maps a
    /// page number to the cursor it announces.
    struct Fake {
        pages: u64,
        total: bool,
        /// A page count to announce instead of the real one.
        announced: Option<u64>,
        next: fn(u64) -> Option<Cursor>,
        asked: Mutex<Vec<Cursor>>,
    }

    impl PagedSource for Fake {
        type Item = Item;
        async fn fetch(&self, cursor: Cursor) -> Result<Page<Item>, FetchError> {
            self.asked.lock().unwrap().push(cursor.clone());
            let n = match &cursor {
                Cursor::Number(n) => *n,
                Cursor::Url(url) => url.trim_start_matches("next:").parse().unwrap(),
            };
            let items = if n <= self.pages {
                vec![Item(n * 10), Item(n * 10 + 1)]
            } else {
                Vec::new()
            };
            Ok(Page {
                items,
                total_pages: self.total.then_some(self.announced.unwrap_or(self.pages)),
                next: if self.total || n >= self.pages {
                    None
                } else {
                    (self.next)(n)
                },
            })
        }
    }

    /// The page numbers `fake` was asked for, in order (a URL asked for fails the test).
    fn numbers_asked(fake: Fake) -> Vec<u64> {
        let mut asked: Vec<u64> = fake
            .asked
            .into_inner()
            .unwrap()
            .into_iter()
            .map(|c| match c {
                Cursor::Number(n) => n,
                Cursor::Url(url) => panic!("followed {url}"),
            })
            .collect();
        asked.sort_unstable();
        asked
    }

    async fn run(fake: &Fake) -> (Result<(), FetchError>, usize) {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let result = list_all(fake, &tx).await;
        drop(tx);
        let mut listed = 0;
        while let Some(page) = rx.recv().await {
            listed += page.len();
        }
        (result, listed)
    }

    #[tokio::test]
    async fn a_known_total_fetches_every_page_once() {
        let fake = Fake {
            pages: 9,
            total: true,
            announced: None,
            next: |_| None,
            asked: Mutex::new(Vec::new()),
        };
        assert_eq!(run(&fake).await, (Ok(()), 18));
        assert_eq!(numbers_asked(fake), (1..=9).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn without_a_total_next_pages_are_followed_by_number_or_url() {
        for next in [
            (|n| Some(Cursor::Number(n + 1))) as fn(u64) -> Option<Cursor>,
            |n| Some(Cursor::Url(format!("next:{}", n + 1))),
        ] {
            let fake = Fake {
                pages: 5,
                total: false,
                announced: None,
                next,
                asked: Mutex::new(Vec::new()),
            };
            assert_eq!(run(&fake).await, (Ok(()), 10));
        }
    }

    #[tokio::test]
    async fn numbered_pages_without_a_total_are_fetched_ahead_and_stop_at_the_end() {
        for pages in [2, 25, 200] {
            let fake = Fake {
                pages,
                total: false,
                announced: None,
                next: |n| Some(Cursor::Number(n + 1)),
                asked: Mutex::new(Vec::new()),
            };
            assert_eq!(run(&fake).await, (Ok(()), 2 * pages as usize), "{pages}");
            let mut asked = numbers_asked(fake);
            let before = asked.len();
            asked.dedup();
            assert_eq!(asked.len(), before, "no page twice");
            // Every page once, and fewer than PAGES_AHEAD past the end.
            assert!(
                asked.starts_with(&(1..=pages).collect::<Vec<_>>()),
                "{asked:?}"
            );
            let wasted = asked.len() as u64 - pages;
            assert!(wasted < PAGES_AHEAD as u64, "{wasted} pages past the end");
        }
    }

    #[tokio::test]
    async fn a_next_page_that_does_not_move_forward_ends_the_listing() {
        let fake = Fake {
            pages: 5,
            total: false,
            announced: None,
            next: |_| Some(Cursor::Number(1)),
            asked: Mutex::new(Vec::new()),
        };
        assert_eq!(run(&fake).await, (Ok(()), 2));
        assert_eq!(fake.asked.into_inner().unwrap(), vec![Cursor::Number(1)]);
    }

    #[tokio::test]
    async fn a_next_url_seen_before_ends_the_listing() {
        let fake = Fake {
            pages: 5,
            total: false,
            announced: None,
            next: |n| Some(Cursor::Url(format!("next:{}", n.min(2) + 1))),
            asked: Mutex::new(Vec::new()),
        };
        // Pages 1, 2, 3, then page 3 points at itself.
        assert_eq!(run(&fake).await, (Ok(()), 6));
    }

    #[tokio::test]
    async fn an_empty_page_inside_the_announced_range_ends_the_listing_as_inconsistent() {
        let fake = Fake {
            pages: 3,
            total: true,
            announced: Some(50_000),
            next: |_| None,
            asked: Mutex::new(Vec::new()),
        };
        let (result, listed) = run(&fake).await;
        assert!(
            matches!(&result, Err(FetchError::Protocol(m)) if m.contains("empty")),
            "{result:?}"
        );
        assert_eq!(listed, 6, "what was listed is kept");
        let asked = fake.asked.into_inner().unwrap().len();
        assert!(
            asked <= 3 + 2 * CONCURRENT_PAGES,
            "{asked} requests for a made-up count"
        );
    }

    #[tokio::test]
    async fn an_absurd_total_is_refused_before_any_further_request() {
        let fake = Fake {
            pages: 100_000_000,
            total: true,
            announced: None,
            next: |_| None,
            asked: Mutex::new(Vec::new()),
        };
        let (result, _) = run(&fake).await;
        assert!(matches!(result, Err(FetchError::Protocol(_))), "{result:?}");
        assert_eq!(fake.asked.into_inner().unwrap().len(), 1);
    }
}
