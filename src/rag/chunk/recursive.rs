//! The splitting engine: recursive separator splitting, greedy merging with
//! whole-piece overlap, and fixed character windows. Spans carry both byte
//! and character offsets so no offset table is ever built.

/// A contiguous part of the input: bytes `b0..b1`, characters `c0..c1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    pub b0: usize,
    pub b1: usize,
    pub c0: usize,
    pub c1: usize,
}

impl Span {
    fn chars(&self) -> usize {
        self.c1 - self.c0
    }

    /// The span from the start of `self` to the end of `last`.
    fn to(self, last: Span) -> Span {
        Span {
            b0: self.b0,
            b1: last.b1,
            c0: self.c0,
            c1: last.c1,
        }
    }
}

/// Splits one text. Invariants assumed: `size >= 1`, `overlap < size`.
pub(super) struct Splitter<'a> {
    pub text: &'a str,
    pub size: usize,
    pub overlap: usize,
    /// Highest priority first; `""` (or running out) means character windows.
    pub seps: &'a [String],
}

impl Splitter<'_> {
    /// Chunks covering `whole`, in order.
    pub fn run(&self, whole: Span) -> Vec<Span> {
        let mut out = Vec::new();
        if whole.chars() == 0 {
            return out;
        }
        if whole.chars() <= self.size {
            out.push(whole);
        } else {
            self.split_rec(whole, 0, &mut out);
        }
        out
    }

    /// Splits an oversized `span` with the first separator from `level` on
    /// that actually cuts it, merges the pieces that fit and recurses into
    /// the ones that do not.
    fn split_rec(&self, span: Span, level: usize, out: &mut Vec<Span>) {
        let mut lvl = level;
        let pieces = loop {
            match self.seps.get(lvl) {
                Some(sep) if !sep.is_empty() => {
                    let pieces = self.cut(span, sep);
                    if pieces.len() > 1 {
                        break pieces;
                    }
                    lvl += 1;
                }
                _ => {
                    self.windows(span, out);
                    return;
                }
            }
        };
        let mut good: Vec<Span> = Vec::new();
        for p in pieces {
            if p.chars() <= self.size {
                good.push(p);
            } else {
                self.merge(&good, out);
                good.clear();
                self.split_rec(p, lvl + 1, out);
            }
        }
        self.merge(&good, out);
    }

    /// Cuts `span` before every occurrence of `sep` (except one at its very
    /// start), so each separator begins the piece that follows it.
    fn cut(&self, span: Span, sep: &str) -> Vec<Span> {
        let slice = &self.text[span.b0..span.b1];
        let mut pieces = Vec::new();
        let mut prev_b = 0usize;
        let mut prev_c = span.c0;
        for (i, _) in slice.match_indices(sep) {
            if i == 0 {
                continue;
            }
            let c = prev_c + slice[prev_b..i].chars().count();
            pieces.push(Span {
                b0: span.b0 + prev_b,
                b1: span.b0 + i,
                c0: prev_c,
                c1: c,
            });
            prev_b = i;
            prev_c = c;
        }
        pieces.push(Span {
            b0: span.b0 + prev_b,
            b1: span.b1,
            c0: prev_c,
            c1: span.c1,
        });
        pieces
    }

    /// Greedily merges contiguous pieces (each at most `size` characters)
    /// into chunks; a new chunk starts with the longest run of trailing
    /// pieces of the previous one that totals at most `overlap` and still
    /// leaves room for the next piece.
    fn merge(&self, pieces: &[Span], out: &mut Vec<Span>) {
        let mut lo = 0usize;
        let mut total = 0usize;
        for (hi, p) in pieces.iter().enumerate() {
            let len = p.chars();
            if total > 0 && total + len > self.size {
                out.push(pieces[lo].to(pieces[hi - 1]));
                while total > 0 && (total > self.overlap || total + len > self.size) {
                    total -= pieces[lo].chars();
                    lo += 1;
                }
            }
            total += len;
        }
        if total > 0 {
            if let Some(last) = pieces.last() {
                out.push(pieces[lo].to(*last));
            }
        }
    }

    /// Windows of `size` characters stepping by `size - overlap`, so
    /// consecutive windows share exactly `overlap` characters.
    fn windows(&self, span: Span, out: &mut Vec<Span>) {
        let slice = &self.text[span.b0..span.b1];
        let bounds: Vec<usize> = slice
            .char_indices()
            .map(|(i, _)| span.b0 + i)
            .chain(std::iter::once(span.b1))
            .collect();
        let m = bounds.len() - 1;
        if m == 0 {
            return;
        }
        let step = self.size.saturating_sub(self.overlap).max(1);
        let mut k = 0usize;
        loop {
            let end = (k + self.size.max(1)).min(m);
            out.push(Span {
                b0: bounds[k],
                b1: bounds[end],
                c0: span.c0 + k,
                c1: span.c0 + end,
            });
            if end == m {
                break;
            }
            k += step;
        }
    }
}
