-- Metric macros, created in every store connection (TEMP: they work on read-only connections too).
-- They are aggregates: `SELECT scenario, auc(label, score) FROM predictions GROUP BY ALL` works.
-- Labels are 0/1; rows with a NULL label or score are ignored; a slice without both classes gives NULL.
--
-- auc: exact with ties (a tie between a positive and a negative counts 1/2), by rank sums. Let R↑ be the sum of
-- the 1-based positions of the positives in the slice sorted by (score, label) — each tie group has its negatives
-- first — and R↓ the same with positives first. Their mean is the positives' midrank sum, so
--     AUC = ((R↑ + R↓) / 2 − P (P + 1) / 2) / (P · N)        (Mann–Whitney with midranks)
-- Each R is a dot product of an ordered list aggregate with 1..n: two sorts, no window, no Python.
--
-- gauc: Σ_u n_u · AUC_u / Σ_u n_u over the users u with both classes (n_u: the user's rows). One sort by
-- (user, score, label); users and tie groups are the runs of equal values in that order (found by comparing the
-- list with itself shifted by one); counts of positives up to a run's end come from one merge-sort of the
-- positives' positions with the run ends. Then, with W the user's weight n_u / (P_u N_u) repeated over its rows:
--     Σ_u n_u AUC_u = Σ_j W_j · label_j · j − Σ_u w_u (P_u (start_u − 1) + P_u (P_u + 1) / 2) − Σ_ties w P N / 2
-- All steps are list operations over the slice (O(n log n)); `let` binds a value once via a one-element list.

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

-- Per run: (start, rows, positives), given run starts, the list length and the positives' positions.
CREATE OR REPLACE TEMP MACRO _runs(starts, n, ones) AS
    list_transform([_run_ends(starts, n)], lambda ends:
        list_zip(starts,
                 list_transform(list_zip(ends, starts), lambda z: z[1] - z[2] + 1),
                 _diff(_count_upto(ones, ends))))[1];

CREATE OR REPLACE TEMP MACRO _user_weight(rows, pos) AS
    CASE WHEN pos > 0 AND pos < rows THEN rows::DOUBLE / (pos * (rows - pos)) ELSE 0 END;

CREATE OR REPLACE TEMP MACRO _gauc(xs) AS list_transform([xs], lambda xs:
    list_transform([list_transform(xs, lambda x: x.l::DOUBLE)], lambda labels:
    list_transform([list_where(range(1, len(xs) + 1), list_transform(labels, lambda l: l = 1))], lambda ones:
    list_transform([_runs(_run_starts(list_transform(xs, lambda x: x.u)), len(xs), ones)], lambda users:
    list_transform([list_transform(users, lambda u: _user_weight(u[2], u[3]))], lambda w:
    list_transform([flatten(list_transform(list_zip(users, w), lambda z: list_resize([]::DOUBLE[], z[1][2], z[2])))],
                   lambda weight_of_row:
        CASE WHEN list_sum(list_transform(list_zip(users, w), lambda z: CASE WHEN z[2] > 0 THEN z[1][2] END)) > 0
        THEN (
            list_dot_product(list_transform(list_zip(labels, weight_of_row), lambda z: z[1] * z[2]),
                             range(1, len(xs) + 1)::DOUBLE[])
          - list_sum(list_transform(list_zip(users, w),
                                    lambda z: z[2] * (z[1][3] * (z[1][1] - 1) + z[1][3] * (z[1][3] + 1) / 2)))
          - list_transform([_runs(_run_starts(list_transform(xs, lambda x: {'u': x.u, 's': x.s})), len(xs), ones)],
                lambda ties: list_dot_product(list_transform(ties, lambda t: (t[3] * (t[2] - t[3]))::DOUBLE),
                                              list_select(weight_of_row, list_transform(ties, lambda t: t[1]))))[1]
            / 2
        ) / list_sum(list_transform(list_zip(users, w), lambda z: CASE WHEN z[2] > 0 THEN z[1][2] END))
        END
    )[1])[1])[1])[1])[1])[1];

CREATE OR REPLACE TEMP MACRO gauc(label, score, "user") AS _gauc(
    list({'u': "user", 's': score, 'l': label} ORDER BY "user", score, label)
        FILTER (WHERE label IS NOT NULL AND score IS NOT NULL AND "user" IS NOT NULL));

CREATE OR REPLACE TEMP MACRO logloss(label, score) AS
    avg(-(label * ln(greatest(least(score, 1 - 1e-7), 1e-7))
          + (1 - label) * ln(greatest(least(1 - score, 1 - 1e-7), 1e-7))));

CREATE OR REPLACE TEMP MACRO pcoc(label, score) AS
    sum(score) FILTER (WHERE label IS NOT NULL) / nullif(sum(label) FILTER (WHERE score IS NOT NULL), 0);
