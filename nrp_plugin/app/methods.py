"""The prose of ``stats.md``'s method sections: how every interval, test and choice is made, in words.

docs/compare.md gives the formulas and references; these texts are what a reader of one run's files sees.
"""
from .. import mappings

__all__ = ['HOLM_METHOD', 'METHOD', 'RANKING_METHOD', 'SWAP_METHOD', 'best_linear_method']


def best_linear_method():
    """How "best linear" is chosen, in words, naming the registered linear mappings."""
    titles = [mappings.title(name) for name in mappings.linear_names()]
    listed = ', '.join(titles[:-1]) + (f' and {titles[-1]}' if len(titles) > 1 else titles[0] if titles else '')
    return ('Best linear: per family, model and region, of ' + listed + ' (each where its per-split MAE is '
            'reported), the mapping with the lowest mean MAE over the splits (ties: in that order), among those '
            'reported on as many splits as the NRP; NRP − best linear is then the paired per-split difference against '
            'that one mapping (not the per-split minimum over the mappings). The p-value and interval do not account '
            'for the choice, which favours the linear side.')


#: How the p-values of one contrast are corrected across models and regions (``stats.md``).
HOLM_METHOD = ('Holm p: Holm\'s (1979) step-down correction of the p-values of one mapping contrast across the '
               'models and regions of one family of benchmarks: the m p-values (tests without one, e.g. a zero '
               'variance, are left out) are sorted, the i-th smallest (i = 1..m) multiplied by m − i + 1, made '
               'non-decreasing by a running maximum and capped at 1. It controls the family-wise error rate of '
               'that contrast; nothing is corrected across contrasts or in the model contrasts, and the 95% '
               'intervals are not adjusted.')

#: How every interval is computed, in words (``stats.md``'s method section).
METHOD = ('Every interval is from the corrected resampled t of Nadeau & Bengio (2003) over the k '
          'cross-validation splits, which overlap (the same Brain-Score splits for every mapping and model). '
          'A single mapping\'s score (e.g. NRP-error, PLS r): 95% CI = mean ± t_{k-1, 0.975} · sqrt((1/k + '
          'n_test/n_train) s²), s² the variance of its per-split values. A difference between two mappings or '
          'two models is paired per split and tested the same way on the per-split differences d: t = mean(d) / '
          'sqrt((1/k + n_test/n_train) s²), k - 1 degrees of freedom; 95% CI = mean(d) ± t_{k-1, 0.975} · SE. '
          'See docs/compare.md.')

#: How the rank correlations and their intervals are computed, in words (``stats.md``).
RANKING_METHOD = ("Rank correlations across the models of one family and region: Spearman's rho and Kendall's "
                  "tau-b (scipy.stats.spearmanr, kendalltau) between the ranking by PLS r (median over sites, mean "
                  "over splits; higher is better) and the ranking by the NRP-error (the MAE of the NRP's test "
                  "predictions, mean over sites, then over splits; lower is better), oriented so that +1 is the "
                  "same order and −1 the reversed one; likewise ridge MAE against PLS r (ridge is a linear mapping "
                  "scored by MAE, as the NRP is, so it separates the mapping from the measure). Needs 3 models or "
                  "more with both scores. 95% CI: percentile interval over B = 1000 seeded bootstrap resamples; "
                  "each resample draws the recording sites (n of n, with replacement) and the cross-validation "
                  "splits (k of k, with replacement) once, for every model and every score alike, recomputes each "
                  "model's scores on the drawn sites and splits as they are defined (PLS r: per drawn split the "
                  "median over the drawn sites, then the mean over the drawn splits; MAE: the mean over the drawn "
                  "sites, then over the drawn splits), and the correlation from them; a resample whose correlation "
                  "is undefined (every model tied) is left out. It says how much the rank agreement of these models "
                  "depends on the sites and splits they were scored on, not how other models would rank. Records "
                  "without per-site values (made before they were kept) give no interval.")

#: How the pairs of models whose order changes are tested, in words (``stats.md``).
SWAP_METHOD = ("Discordant pairs: every pair of models that PLS r and the NRP-error order differently (A: the "
               "model with the higher PLS r; B: the one with the lower NRP-error; a tie under either measure is "
               "no discordance). For each pair, the per-split differences A − B in PLS r (median over sites) and in "
               "NRP-error (mean over sites) are each tested with the corrected resampled t of Nadeau & Bengio "
               "(2003) (two-sided, k − 1 degrees of freedom, as in Method). The 2m p-values of the m discordant "
               "pairs of one family and region are Holm-corrected together (Holm 1979). A pair swaps "
               "significantly when both Holm-corrected p-values are below 0.05 and the two differences point in "
               "opposite directions (A better by PLS r, B better by the NRP-error); a false swap needs a falsely "
               "rejected test, so the chance of naming any false swap in a family and region is at most 0.05. "
               "The family is the discordant pairs, chosen on the same data: correcting over every pair would be "
               "more conservative. Not tested: a measure has no per-split values for the pair, or its per-split "
               "differences do not vary.")
