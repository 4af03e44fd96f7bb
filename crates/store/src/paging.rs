//! Cursor paging: lists fetch `limit + 1` rows newest first; the extra row says whether an
//! older page exists, and the last row's key is the cursor for it.

/// Cuts `rows` (fetched with `limit + 1`) to `limit` and returns the next page's cursor.
pub(crate) fn split_page<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<i64>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(cursor);
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::split_page;

    #[test]
    fn a_full_page_points_at_its_last_row() {
        assert_eq!(split_page(vec![9, 8, 7], 2, |r| *r), (vec![9, 8], Some(8)));
        assert_eq!(split_page(vec![9, 8], 2, |r| *r), (vec![9, 8], None));
        assert_eq!(split_page(Vec::<i64>::new(), 2, |r| *r), (vec![], None));
    }
}
