"""The prose of ``stats.md``'s method sections: how every interval, test and choice is made, in words.

docs/compare.md gives the formulas and references; these texts are what a reader of one run's files sees.
"""
from .. import mappings

__all__ = ['FACTORIAL_METHOD', 'HOLM_METHOD', 'METHOD', 'RANKING_METHOD', 'SWAP_METHOD', 'best_linear_method']


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
               'models and regions of one family of benchmarks: the m p-values (tests without one are left out) are '
               'sorted, the i-th smallest (i = 1..m) multiplied by m − i + 1, made non-decreasing by a running maximum '
               'and capped at 1. It controls the family-wise error rate of that contrast; nothing is corrected across '
               'contrasts or in the model contrasts, and the 95% intervals are not adjusted.')
METHOD = ('Every score is an average over the recording sites, the test images and Brain-Score\'s overlapping '
          'cross-validation splits, and each of them is a sample. The records keep every split\'s held-out '
          'predictions per test image and site, so every quantity (a score, the difference of two mappings or two '
          'models, a rank correlation across models, the difference of two rank correlations) is recomputed on '
          'draws: the sites resampled with replacement, and separately the stimuli (each split keeping the drawn '
          'ones among its test images, as often as drawn); the two deviations from the estimate are added, with a '
          'Gaussian deviation of covariance n_test/n_train times that of the per-split scores for what the '
          'overlap of the training sets keeps from averaging out (Nadeau & Bengio 2003). The 95% interval is the '
          'quantity\'s 2.5% and 97.5% points over 1000 such draws (`factor`), its p-value 2Φ(−|estimate|/sd). '
          'Where the records keep no held-out predictions, the corrected resampled t over the splits alone '
          '(`split_t`) is the fallback. Either is printed only where its coverage was measured on worlds with a '
          'known answer and reached at least 93% (below; above 97% it is called conservative); see docs/inference.md.')
RANKING_METHOD = ("Rank correlations across the models of one family and region: Spearman's rho and Kendall's tau-b "
                  "between the models' order by Brain-Score's standard (its -pls benchmark's PLS, Pearson r: median "
                  "over sites, mean over splits; higher is better) and by the NRP-error (the MAE of the NRP's test "
                  "predictions; lower is better), oriented so that +1 is the same order; likewise ridge MAE against "
                  "PLS r (ridge is linear and scored by MAE, as the NRP is, so it separates the mapping from the "
                  "measure), and the difference of the two correlations, whose interval says whether the NRP's order "
                  "departs from PLS's more than ridge's does. Needs 3 models or more. Every correlation and difference "
                  "is recomputed on the same draws of sites, images and splits for every model (Method), so the "
                  "models' dependence is kept. It says how far the agreement of these models depends on the sites, "
                  "images and splits they were scored on, not how other models would rank.")
SWAP_METHOD = ("Discordant pairs: every pair of models that PLS r and the NRP-error order differently (A: the model "
               "with the higher PLS r; B: the one with the lower NRP-error; a tie under either measure is no "
               "discordance). For each pair, the difference A − B in PLS r and in NRP-error is tested (Method), and "
               "the 2m p-values of the m discordant pairs of one family and region are Holm-corrected together "
               "(Holm 1979). A pair swaps significantly when both Holm-corrected p-values are below 0.05 and the two "
               "differences point in opposite directions. The family is the discordant pairs, chosen on the same "
               "data: correcting over every pair would be more conservative.")
FACTORIAL_METHOD = ("Factorial analysis: the NRP-error against PLS r changes three things at once: the mapping (a "
                    "network instead of PLS), the measure (MAE instead of r) and the inputs (the NRP's window of "
                    "layers instead of the one committed layer). With `compare --factorial` the NRP benchmark fits "
                    "every mapping on the committed layer alone too, so each cell of mapping x measure x inputs "
                    "orders the models; its rank correlation with Brain-Score's standard (PLS, r, the committed "
                    "layer, from the -pls benchmark) is given with its interval, and, per cell and factor, the "
                    "change in that correlation when the factor alone is switched to the standard's level (a "
                    "difference of rank correlations, with its interval and p-value).")
