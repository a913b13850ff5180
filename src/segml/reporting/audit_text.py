"""The audit's words (report section and summary): did last period's grades come true? Purchases
say "bought again"; subscribers "still subscribed" and "cancelled" (the `_subscribed` keys and
`audit_view.WORDS`, chosen by what the period measured)."""

from __future__ import annotations

AUDIT_TEXT = {
    "audit": {"en": "Did last period's grades come true?", "zh": "上期分级是否应验？"},
    "no_audit": {
        "en": "No earlier period to check yet: from the month after the first graded period on, this "
        "section shows what really happened to the customers of earlier periods.",
        "zh": "暂无可检验的更早期间：从首个分级期间的下个月起，本节显示更早期间的客户实际表现。",
    },
    "audit_note": {
        "en": "For each earlier period: what its customers really did in the days since it was graded. "
        "A good grading has tier A buying again more than C, churn risk that ranks those who really "
        "stopped first (ROC AUC: 1 = perfect, 0.5 = chance), and predicted spend close to realized.",
        "zh": "对每个更早期间：其客户在分级之后实际如何。好的分级应是A级复购率高于C级，流失风险能把真正流失的客户"
        "排在前面（ROC AUC：1 = 完美，0.5 = 随机），预测消费接近实际消费。",
    },
    "audit_period": {"en": "Period", "zh": "期间"},
    "audit_days": {"en": "Days observed", "zh": "已观察天数"},
    "audit_days_value": {"en": "{elapsed} of {horizon} days", "zh": "{elapsed}天（共{horizon}天）"},
    "audit_partly": {"en": "partly", "zh": "部分"},
    "audit_complete": {"en": "complete", "zh": "完整"},
    "audit_customers": {"en": "Customers graded", "zh": "已分级客户数"},
    "audit_forecast_customers": {"en": "Churn checked on", "zh": "流失检验客户数"},
    # who each figure counts (the summary table's note), per outcome
    "audit_populations": {
        "en": "Who each figure counts: “Customers graded”, the share who bought again and the "
        "spend totals count every customer the period graded; the spend forecast is the period's "
        "own total for its whole churn window, set beside what the same customers spent in the "
        "days observed so far. Churn (ROC AUC, predicted against realized churn, the bands below) "
        "counts the customers the churn model was measured on: those who bought in the {within} "
        "days before the period (“Churn checked on”).",
        "zh": "各数字的统计范围：“已分级客户数”、复购率与消费总额按该期间全部已分级客户统计；消费预测是该期间自己对整个"
        "流失观察期的预测总额，与同一批客户在已观察天数内的实际消费并列。流失（ROC AUC、预测与实际流失率、下方各概率区间）"
        "只统计流失模型所衡量的客户：该期间之前{within}天内购买过的客户（“流失检验客户数”）。",
    },
    "audit_totals_value": {
        "en": "{predicted} for {horizon} days → {realized} in {elapsed} days",
        "zh": "{horizon}天预测{predicted} → {elapsed}天实际{realized}",
    },
    "audit_bought_again": {"en": "Bought again", "zh": "复购率"},
    "audit_bought_again_tier": {"en": "Bought again: {tier}", "zh": "复购率：{tier}"},
    "audit_revenue": {"en": "Revenue since", "zh": "期后收入"},
    "audit_revenue_share": {"en": "Share of revenue", "zh": "收入占比"},
    "audit_predicted_realized": {
        "en": "Spend: forecast for the whole churn window → realized so far",
        "zh": "消费：整个流失观察期的预测 → 至今实际",
    },
    "audit_detail": {
        "en": "Grades of {as_of}: {elapsed} of {horizon} days observed ({how})",
        "zh": "{as_of} 的分级：已观察 {elapsed} / {horizon} 天（{how}）",
    },
    "audit_churn": {
        "en": "Churn risk ranked customers with a ROC AUC of {auc} on what really happened "
        "({n} customers who bought in the {within} days before); it predicted {predicted} would not buy "
        "again within {horizon} days, and {realized} did not within the {elapsed} days observed.",
        "zh": "流失风险按实际结果的ROC AUC为{auc}（{n}位在此前{within}天内购买过的客户）；预测{predicted}的客户{horizon}天内"
        "不会复购，实际在已观察的{elapsed}天内{realized}未复购。",
    },
    "audit_value": {
        "en": "Future value of the {customers} customers graded: predicted {predicted} for the "
        "{horizon} days (the period's own forecast), realized {realized} in the {elapsed} days "
        "observed so far; ranking quality (normalised Gini, on the {n} customers churn was "
        "checked on) {gini}.",
        "zh": "{customers}位已分级客户的未来价值：预测{horizon}天消费{predicted}（该期间自己的预测），已观察{elapsed}天"
        "实际消费{realized}；排序质量（标准化基尼系数，按{n}位流失检验客户）{gini}。",
    },
    "audit_calibration": {
        "en": "Churn risk: predicted against realized, per band",
        "zh": "流失风险：各概率区间的预测与实际",
    },
    "audit_band": {"en": "Predicted churn probability", "zh": "预测流失概率区间"},
    "audit_predicted": {"en": "Predicted", "zh": "预测"},
    "audit_realized": {"en": "Realized", "zh": "实际"},
    "audit_by_tier": {"en": "By tier", "zh": "按等级"},
    "audit_by_lifecycle": {"en": "By lifecycle status", "zh": "按生命周期"},
    "audit_stability": {
        "en": "Stability between consecutive periods",
        "zh": "相邻期间的稳定性",
    },
    "audit_stability_note": {
        "en": "Population stability index (PSI) of each measure against the period before: under 0.1 "
        "stable, above {warning} a major shift (drift) worth a look before trusting the grades.",
        "zh": "各指标相对上一期间的群体稳定性指数（PSI）：低于0.1为稳定，高于{warning}为显著漂移，使用分级结果前应先核查。",
    },
    "audit_from_to": {"en": "From → to", "zh": "期间"},
    "audit_changed": {"en": "Changed tier", "zh": "等级变动占比"},
    "audit_drift": {
        "en": "Drift: {columns} shifted more than the warning level.",
        "zh": "漂移提示：{columns}的变化超过预警水平。",
    },
    "audit_no_drift": {"en": "No drift above the warning level.", "zh": "无超过预警水平的漂移。"},
    # subscribers (data.kind: subscriptions): the outcome is "still subscribed", value is fees
    "audit_note_subscribed": {
        "en": "For each earlier period: what its subscribers really did in the days since it was "
        "graded. A good grading has more of tier A still subscribed than of C, churn risk that ranks "
        "those who really cancelled first (ROC AUC: 1 = perfect, 0.5 = chance), and predicted "
        "recurring revenue close to realized.",
        "zh": "对每个更早期间：其用户在分级之后实际如何。好的分级应是A级仍在订阅的比例高于C级，流失风险能把真正取消订阅的用户"
        "排在前面（ROC AUC：1 = 完美，0.5 = 随机），预测月费收入接近实际月费收入。",
    },
    "audit_still_subscribed": {"en": "Still subscribed", "zh": "仍在订阅"},
    "audit_still_subscribed_tier": {"en": "Still subscribed: {tier}", "zh": "仍在订阅：{tier}"},
    "audit_predicted_realized_subscribed": {
        "en": "Recurring revenue: forecast for the whole churn window → realized so far",
        "zh": "月费收入：整个流失观察期的预测 → 至今实际",
    },
    "audit_populations_subscribed": {
        "en": "Who each figure counts: “Customers graded”, the share still subscribed and the "
        "recurring revenue totals count every subscriber the period graded; the revenue forecast "
        "is the period's own total for its whole churn window, set beside what the same "
        "subscribers were billed in the days observed so far. Churn (ROC AUC, predicted against "
        "realized churn, the bands below) counts the subscribers with a subscription running at "
        "the period's date (“Churn checked on”).",
        "zh": "各数字的统计范围：“已分级客户数”、仍在订阅比例与月费收入总额按该期间全部已分级用户统计；月费收入预测是该期间"
        "自己对整个流失观察期的预测总额，与同一批用户在已观察天数内的实际月费收入并列。流失（ROC AUC、预测与实际流失率、"
        "下方各概率区间）只统计该期间评估日仍在订阅的用户（“流失检验客户数”）。",
    },
    "audit_churn_subscribed": {
        "en": "Churn risk ranked subscribers with a ROC AUC of {auc} on what really happened "
        "({n} subscribers with a subscription running then); it predicted {predicted} would cancel "
        "within {horizon} days, and {realized} did within the {elapsed} days observed.",
        "zh": "流失风险按实际结果的ROC AUC为{auc}（{n}位当时在订阅的用户）；预测{predicted}的用户{horizon}天内"
        "会取消订阅，实际在已观察的{elapsed}天内{realized}已取消。",
    },
    "audit_value_subscribed": {
        "en": "Future value of the {customers} subscribers graded: predicted recurring revenue "
        "{predicted} for the {horizon} days (the period's own forecast), realized {realized} in "
        "the {elapsed} days observed so far; ranking quality (normalised Gini, on the {n} "
        "subscribers churn was checked on) {gini}.",
        "zh": "{customers}位已分级用户的未来价值：预测{horizon}天月费收入{predicted}（该期间自己的预测），已观察{elapsed}天"
        "实际月费收入{realized}；排序质量（标准化基尼系数，按{n}位流失检验用户）{gini}。",
    },
    # both exports (data.kind: both): subscribers stay by not cancelling, buyers by buying again
    "audit_note_both": {
        "en": "For each earlier period: what its customers really did in the days since it was "
        "graded: subscribers stayed if they did not cancel, the others if they bought again. A good "
        "grading has more of tier A staying than of C, churn risk that ranks those who really left "
        "first (ROC AUC: 1 = perfect, 0.5 = chance), and predicted value close to realized.",
        "zh": "对每个更早期间：其客户在分级之后实际如何：订阅客户未退订即为留存，其他客户再次购买即为留存。好的分级应是A级留存比例"
        "高于C级，流失风险能把真正流失的客户排在前面（ROC AUC：1 = 完美，0.5 = 随机），预测价值接近实际价值。",
    },
    "audit_stayed": {"en": "Stayed", "zh": "留存"},
    "audit_stayed_tier": {"en": "Stayed: {tier}", "zh": "留存：{tier}"},
    "audit_predicted_realized_both": {
        "en": "Value (recurring revenue and spend): forecast for the whole churn window → "
        "realized so far",
        "zh": "价值（月费与消费）：整个流失观察期的预测 → 至今实际",
    },
    "audit_populations_both": {
        "en": "Who each figure counts: “Customers graded”, the share who stayed and the value "
        "totals count every customer the period graded; the value forecast is the period's own "
        "total for its whole churn window, set beside what the same customers paid and spent in "
        "the days observed so far. Churn (ROC AUC, predicted against realized churn, the bands "
        "below) counts subscribers running at the period's date and the others who bought in the "
        "{within} days before it (“Churn checked on”).",
        "zh": "各数字的统计范围：“已分级客户数”、留存比例与价值总额按该期间全部已分级客户统计；价值预测是该期间自己对整个"
        "流失观察期的预测总额，与同一批客户在已观察天数内的实际月费与消费并列。流失（ROC AUC、预测与实际流失率、下方各概率"
        "区间）只统计该期间评估日仍在订阅的用户，以及此前{within}天内购买过的其他客户（“流失检验客户数”）。",
    },
    "audit_churn_both": {
        "en": "Churn risk ranked customers with a ROC AUC of {auc} on what really happened "
        "({n} customers: subscribers running then and recent buyers); it predicted {predicted} "
        "would cancel or stop buying within {horizon} days, and {realized} did within the "
        "{elapsed} days observed.",
        "zh": "流失风险按实际结果的ROC AUC为{auc}（{n}位客户：当时在订阅的用户与近期购买的客户）；预测{predicted}"
        "的客户{horizon}天内会退订或停止购买，实际在已观察的{elapsed}天内{realized}如此。",
    },
    "audit_value_both": {
        "en": "Future value of the {customers} customers graded: predicted {predicted} (recurring "
        "revenue and spend) for the {horizon} days (the period's own forecast), realized "
        "{realized} in the {elapsed} days observed so far; ranking quality (normalised Gini, on "
        "the {n} customers churn was checked on) {gini}.",
        "zh": "{customers}位已分级客户的未来价值：预测{horizon}天价值（月费与消费）{predicted}（该期间自己的预测），"
        "已观察{elapsed}天实际{realized}；排序质量（标准化基尼系数，按{n}位流失检验客户）{gini}。",
    },
    # data.kind both: each part's own figures (audit_details.json's by_churn_kind), a line each
    "audit_by_churn_kind": {"en": "Each part on its own", "zh": "各部分分别"},
    "audit_part_cancels_subscription": {
        "en": "Subscribers (cancels subscription): {rate} still subscribed ({customers} "
        "customers); churn ROC AUC {auc}; value (recurring revenue and spend) predicted "
        "{predicted} for {horizon} days → realized {realized} in {elapsed} days",
        "zh": "订阅客户（退订）：{rate}仍在订阅（{customers}位客户）；流失ROC AUC {auc}；"
        "价值（月费与消费）{horizon}天预测{predicted} → {elapsed}天实际{realized}",
    },
    "audit_part_stops_buying": {
        "en": "Buyers (stops buying): {rate} bought again ({customers} customers); churn ROC AUC "
        "{auc} (recent buyers); spend predicted {predicted} for {horizon} days → realized "
        "{realized} in {elapsed} days",
        "zh": "购买客户（停止购买）：{rate}再次购买（{customers}位客户）；流失ROC AUC {auc}"
        "（近期购买的客户）；消费{horizon}天预测{predicted} → {elapsed}天实际{realized}",
    },
}
