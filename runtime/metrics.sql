-- Metric macros, created in every store connection (TEMP: they work on read-only connections too).
-- They are aggregates: `SELECT scenario, auc(label, score) FROM predictions GROUP BY ALL` works.
-- Labels are 0/1; rows with a NULL label or score are ignored; a slice without both classes gives NULL.
-- (`compute_metrics` in store.py computes the same values with window sorts, faster on millions of rows.)
--
-- auc: exact with ties (a tie between a positive and a negative counts 1/2), by rank sums. Let R↑ be the sum of
-- the 1-based positions of the positives in the slice sorted by (score, label) — each tie group has its negatives
-- first — and R↓ the same with positives first. Their mean is the positives' midrank sum, so
--     AUC = ((R↑ + R↓) / 2 − P (P + 1) / 2) / (P · N)        (Mann–Whitney with midranks)
-- Each R is a dot product of an ordered list aggregate with 1..n: two sorts, no window, no Python.
--
-- gauc: Σ_u n_u · AUC_u / Σ_u n_u over the users u with both classes (n_u: the user's rows). The same two sorts,
-- by (user, score, label) and (user, score, label DESC), of one value per row, 2·user + [label = 1] (a HUGEINT:
-- DuckDB sorts several ordered aggregates of one argument much faster than of different arguments). In that
-- order each user's rows are one block; blocks start where the user changes, and the positives of each block are
-- counted by one sort of the positives' positions merged with the block ends. With w_u = n_u / (P_u N_u) (0 for a
-- user with one class) repeated over the user's rows as W:
--     Σ_u n_u AUC_u = Σ_j W_j (up_j + down_j) j / 2 − Σ_u w_u (P_u (start_u − 1) + P_u (P_u + 1) / 2)
-- (up_j, down_j: the label at position j in each order). All list operations are O(n); memory ≈ 0.5 KB a row.

CREATE OR REPLACE TEMP MACRO _rank_sum(labels) AS
    list_dot_product(labels, range(1, len(labels) + 1)::DOUBLE[]);

CREATE OR REPLACE TEMP MACRO _auc(up, down, p, n) AS
    CASE WHEN p > 0 AND n > 0 THEN ((_rank_sum(up) + _rank_sum(down)) / 2 - p * (p + 1) / 2) / (p * n) END;

CREATE OR REPLACE TEMP MACRO auc(label, score) AS _auc(
    list(label::DOUBLE ORDER BY score, label) FILTER (WHERE label IS NOT NULL AND score IS NOT NULL),
    list(label::DOUBLE ORDER BY score, label DESC) FILTER (WHERE label IS NOT NULL AND score IS NOT NULL),
    sum(label::DOUBLE) FILTER (WHERE score IS NOT NULL),
    count(label) FILTER (WHERE score IS NOT NULL) - sum(label::DOUBLE) FILTER (WHERE score IS NOT NULL));

-- 1-based positions where a run of equal values starts.
CREATE OR REPLACE TEMP MACRO _run_starts(xs) AS
    list_where(range(1, len(xs) + 1),
               list_transform(list_zip(xs, list_prepend(NULL, list_slice(xs, 1, len(xs) - 1))),
                              lambda z: z[1] IS DISTINCT FROM z[2]));

-- The run ends matching `starts` in a list of length n.
CREATE OR REPLACE TEMP MACRO _run_ends(starts, n) AS
    list_append(list_transform(list_slice(starts, 2, len(starts)), lambda s: s - 1), n);

-- For ascending positions `q`: how many of the (ascending) positions `ones` are <= each (a merge by one sort).
CREATE OR REPLACE TEMP MACRO _count_upto(ones, q) AS
    list_transform(
        list_where(range(1, len(ones) + len(q) + 1),
                   list_transform(list_sort(list_concat(list_transform(ones, lambda o: 2 * o),
                                                        list_transform(q, lambda e: 2 * e + 1))),
                                  lambda k: k % 2 = 1)),
        lambda r, k: r - k);

-- Differences of consecutive values (the first minus 0).
CREATE OR REPLACE TEMP MACRO _diff(xs) AS
    list_transform(list_zip(xs, list_prepend(0, list_slice(xs, 1, len(xs) - 1))), lambda z: z[1] - z[2]);

-- The label bit of 2·user + label.
CREATE OR REPLACE TEMP MACRO _label_bit(x) AS abs(x % 2);

-- Per user block of `up` (2·user + label sorted by user first): start, rows n, positives p, weight w.
CREATE OR REPLACE TEMP MACRO _user_blocks(up) AS
    list_transform([_run_starts(list_transform(up, lambda x: x - _label_bit(x)))], lambda starts:
        list_transform(
            list_zip(starts, _run_ends(starts, len(up)),
                     _diff(_count_upto(list_where(range(1, len(up) + 1), list_transform(up, lambda x: _label_bit(x) = 1)),
                                       _run_ends(starts, len(up))))),
            lambda z: {'start': z[1], 'n': z[2] - z[1] + 1, 'p': z[3],
                       'w': CASE WHEN z[3] > 0 AND z[3] <= z[2] - z[1]
                                 THEN (z[2] - z[1] + 1) / (z[3] * (z[2] - z[1] + 1 - z[3])) ELSE 0 END}))[1];

CREATE OR REPLACE TEMP MACRO _gauc(up, down) AS
    list_transform([_user_blocks(up)], lambda blocks:
        (list_dot_product(
             list_transform(list_zip(flatten(list_transform(blocks, lambda b: list_resize([]::DOUBLE[], b.n, b.w))),
                                     up, down),
                            lambda z: z[1] * (_label_bit(z[2]) + _label_bit(z[3]))),
             range(1, len(up) + 1)::DOUBLE[]) / 2
         - list_sum(list_transform(blocks, lambda b: b.w * (b.p * (b.start - 1) + b.p * (b.p + 1) / 2))))
        / nullif(list_sum(list_transform(blocks, lambda b: CASE WHEN b.w > 0 THEN b.n ELSE 0 END)), 0))[1];

CREATE OR REPLACE TEMP MACRO gauc(label, score, "user") AS _gauc(
    list(2 * "user"::HUGEINT + (label = 1)::INTEGER ORDER BY "user", score, label)
        FILTER (WHERE label IS NOT NULL AND score IS NOT NULL AND "user" IS NOT NULL),
    list(2 * "user"::HUGEINT + (label = 1)::INTEGER ORDER BY "user", score, label DESC)
        FILTER (WHERE label IS NOT NULL AND score IS NOT NULL AND "user" IS NOT NULL));

CREATE OR REPLACE TEMP MACRO logloss(label, score) AS
    avg(-(label * ln(greatest(least(score, 1 - 1e-7), 1e-7))
          + (1 - label) * ln(greatest(least(1 - score, 1 - 1e-7), 1e-7))));

CREATE OR REPLACE TEMP MACRO pcoc(label, score) AS
    sum(score) FILTER (WHERE label IS NOT NULL) / nullif(sum(label) FILTER (WHERE score IS NOT NULL), 0);
