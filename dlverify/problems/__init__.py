"""One module per catalog topic, each exporting ``PROBLEMS``: add a topic here."""

TOPIC_MODULES = (
    "dlverify.problems.scalar_rnn",
    "dlverify.problems.rnn",
    "dlverify.problems.lstm",
    "dlverify.problems.resnet",
    "dlverify.problems.gated_rnn",
    "dlverify.problems.attention_rnn",
    "dlverify.problems.gru",
    "dlverify.problems.conv",
    "dlverify.problems.lae",
    "dlverify.problems.rlae",
)
