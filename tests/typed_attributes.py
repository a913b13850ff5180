"""The typed customer attributes several tests map (data.customer_columns entries beside the id and
plain names): one of each type, with the words reasons and charts say them with."""

TYPED_ATTRIBUTES = {
    "credit_grade": {
        "column": "信用等级",
        "type": "category",
        "en": "credit grade",
        "zh": "信用等级",
    },
    "company_size": {"column": "员工人数", "type": "number", "en": "employees", "zh": "员工人数"},
    "is_business": {
        "column": "是否企业",
        "type": "yes_no",
        "en": "business account",
        "zh": "企业客户",
    },
    "signup_date": {"column": "开户日期", "type": "date", "en": "customer since", "zh": "开户日期"},
}
