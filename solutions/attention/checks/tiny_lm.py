"""Public checks of TinyLM.forward (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "tiny_lm"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def logits_have_one_row_per_position(TinyLM, VOCAB, torch):
    """forward maps (B, T) tokens to (B, T, vocab) logits."""
    torch.manual_seed(0)
    model = TinyLM(VOCAB)
    logits = model(torch.randint(0, VOCAB, (2, 16)))
    assert tuple(logits.shape) == (2, 16, VOCAB), f"expected logits of shape (2, 16, {VOCAB}), got {tuple(logits.shape)}"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def a_later_token_does_not_change_earlier_logits(TinyLM, VOCAB, torch):
    """The model is causal: the logits at position t depend only on tokens 0..t."""
    torch.manual_seed(1)
    model = TinyLM(VOCAB).eval()
    tokens = torch.randint(0, VOCAB, (1, 12))
    changed = tokens.clone()
    changed[0, 9] = (tokens[0, 9] + 1) % VOCAB
    with torch.no_grad():
        a, b = model(tokens), model(changed)
    assert torch.allclose(a[:, :9], b[:, :9], atol=1e-6), "changing token 9 changed the logits of positions 0..8"
