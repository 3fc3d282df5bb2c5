"""Clerical review of a run's links and duplicates: sample, workbook, scores, decisions fed back.

`vaxstudy review sample` draws a stratified sample with recorded inclusion probabilities and
writes review.xlsx/review.csv under the run's restricted folder; `vaxstudy review score` reads
the returned file, estimates link precision and recall and the duplicate precisions with 95%
intervals (review_summary.json) and keeps the decisions (review_decisions) so later runs of the
same data follow them. docs/review.md walks through one review.
"""
