"""ESG entity resolution on a small master given as the identity service's company rows: the legal-form evidence
(a form confirming the issuer's country where the entity's country is unknown or only its registry's), the issuer
whose legal name carries no form, names written with or without spaces, letters NFKD keeps, and one company held
by the master as two issuers."""

from __future__ import annotations

from typing import Any

import pytest

from marketwire.errors import NotFound
from marketwire.esg.linking import THRESHOLD, Linker, fold, forms_of, normalise


def row(iid: str, name: str, country: str | None, ticker: str, mic: str = "XNYS", isin: str | None = None,
        listing_name: str | None = None) -> dict[str, Any]:
    return {"issuer_id": iid, "issuer_name": name, "issuer_country": country, "security_id": f"S{iid}",
            "security_name": name, "type": "equity", "isin": isin, "listing_id": f"L{iid}{mic}", "ticker": ticker,
            "mic": mic, "listing_name": listing_name or name, "index_member": False}


class Master:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def company_rows(self) -> list[dict[str, Any]]:
        return self.rows

    def resolve(self, id: str, as_of: Any = None) -> list[dict[str, Any]]:
        raise NotFound(f"{id} not in this master")


MASTER = Master([
    row("P66", "Phillips 66", "US", "PSX", listing_name="Phillips 66 Common Stock"),
    row("COP", "ConocoPhillips", "US", "COP"),
    row("DGE", "Diageo plc", "GB", "DGE", "XLON"),
    row("HES", "HESS CORPORATION", "US", "HES"),
    row("NXN", "Nexen Corporation", "KR", "005720", "XKRX"),
    row("SIA", "Singapore Airlines Ltd.", "SG", "C6L", "XSES"),
    row("ENI", "Eni S.p.A.", "IT", "ENI", "XMIL"),
    row("HEI", "HeidelbergCement AG", "DE", "HEI", "XETR"),
    row("JSW", "Jastrzębska Spółka Węglowa S.A.", "PL", "JSW", "XWAR"),
    row("JPA", "J P Morgan Chase & Co", "US", "JPM"),
    row("JPB", "JPMorgan Chase & Co.", "US", "JPM", "XMEX", isin="US46625H1005"),
    row("FBA", "First Bancorp", "US", "FBNC", "XNAS"),
    row("SUM", "Sumitomo Chemical", "JP", "4005", "XJPX"),
    row("AA", "ALCOA CORP. O.N.", "US", "AA", listing_name="Alcoa Inc. Common Stock"),
    row("NPI", "New Palace International Co., Ltd.", "TW", "9914", "XTAI"),
    row("STM", "STMicroelectronics N.V.", "NL", "STM", "XPAR"),
    row("FBB", "First BanCorp.", "US", "FBP"),
])


def link(name: str, country: str | None = None, **kw: Any) -> Any:
    return Linker(MASTER).link({"entity_id": f"t:{name}", "name": name, "country": country, **kw})


def test_an_issuer_whose_legal_name_has_no_form_is_not_the_entity_with_one():
    # Phillips 66 Company is the operating subsidiary of the listed Phillips 66 (a holding named without a form)
    lk = link("Phillips 66 Company", "US")
    assert lk.status == "review" and "no name of the US issuer carries" in lk.evidence["why_review"]
    assert link("ConocoPhillips Company", None).status == "review"
    ok = link("Phillips 66", "US")  # the name as the issuer writes it
    assert (ok.status, ok.issuer_id, ok.confidence) == ("linked", "P66", 0.97)
    # outside the US the master's names are often venue names without the form: they say nothing
    assert link("Sumitomo Chemical Co", "JP").issuer_id == "SUM"


def test_different_legal_forms_without_a_country_stay_in_review():
    lk = link("ST MICROELECTRONICS SA", None)
    assert lk.status == "review" and "legal form" in lk.evidence["why_review"]
    # the issuer's current name decides the form: Alcoa Inc. (a recycled ticker's older name) is not Alcoa Corp.
    assert link("Alcoa Inc", "IT", country_role="registry").status == "review"
    # "New" opening a name is a word of the name, not a share-class descriptor
    assert normalise("New Palace International Co., Ltd.") == "new palace international"
    assert link("Palace International Ltd", "GB", country_role="registry").status == "review"


def test_legal_form_confirms_the_country_of_a_parent_without_one():
    lk = link("Diageo Plc", None)
    assert (lk.status, lk.issuer_id, lk.confidence) == ("linked", "DGE", 0.9)
    assert lk.evidence["country_from_legal_form"].startswith("plc")
    assert link("Eni S.p.A.", None).issuer_id == "ENI"
    # without a form a one-word name and no country stays in review
    assert link("Diageo", None).status == "review"
    # a form the issuer's own name does not carry confirms nothing (Nexen Inc. was Canadian, Nexen Corp. is Korean)
    assert link("NEXEN INC", None).status == "review"


def test_registry_country_of_an_account_is_not_the_company_s():
    lk = link("Hess Corporation", "GB", country_role="registry")
    assert (lk.status, lk.issuer_id) == ("linked", "HES") and lk.confidence >= THRESHOLD
    assert lk.evidence["country_role"] == "registry"
    assert link("SINGAPORE AIRLINES LIMITED", "DE", country_role="registry").issuer_id == "SIA"
    # a company's own country (not a registry's) that disagrees keeps the entity in review
    assert link("Hess Corporation", "GB").status == "review"


def test_names_with_or_without_spaces_and_letters_nfkd_keeps():
    lk = link("HEIDELBERG CEMENT AG", "DE")
    assert (lk.status, lk.issuer_id) == ("linked", "HEI") and lk.evidence["matched_without_spaces"]
    assert fold("Spółka Łódź Øresund Straße") == "Spolka Lodz Oresund Strasse"
    assert normalise("JASTRZEBSKA SPOLKA WEGLOWA SA") == normalise("Jastrzębska Spółka Węglowa S.A.")
    assert link("Jastrzebska Spolka Weglowa SA", "PL").issuer_id == "JSW"
    assert forms_of("PKN Orlen Sp. z o.o.") == {"spzoo"}


def test_one_company_held_as_two_issuers():
    lk = link("JPMorgan Chase & Co.", "US")
    assert lk.status == "linked" and lk.issuer_id == "JPB"
    assert lk.evidence["same_company"] == ["JPA"]
    linker = Linker(MASTER)
    assert linker.same_company("JPA") == ["JPB"]
    # equal names without a ticker in common are not one company
    assert linker.same_company("FBA") == [] and linker.same_company("FBB") == []


@pytest.mark.parametrize("name", ["Jastrzębska Spółka Węglowa", "Øresund A/S", "Größe AG"])
def test_fold_is_ascii(name):
    assert fold(name).isascii()


def test_names_without_a_confirmed_country_need_the_same_layer_and_form():
    m = Master([row("KFG", "Kraft Foods Group, Inc.", "US", "KRFT", "XNAS"),
                row("LTM", "LATAM AIRLINES GRP", "CL", "LTM", "XSGO"),
                row("IP", "International Paper Company", "US", "IP"),
                row("VMI", "Valmont Industries, Inc.", None, "VMI")])
    def one(name: str, country: str | None = None, **kw: Any) -> Any:
        return Linker(m).link({"entity_id": "t", "name": name, "country": country, **kw})
    # with a legal form, "Group" on one side only says another legal entity; "GRP" is how venues abbreviate it
    assert one("Kraft Foods Group S.A.").status == "review"
    # a French S.A. of a US group is not the US issuer
    assert one("International Paper SA").status == "review"
    # an account held in France says nothing of the company's country: the name alone does not link it
    assert one("VALMONT INDUSTRIES", "FR", country_role="registry").status == "review"
    assert one("Valmont Industries", "US").status == "linked"
    # "GRP" is how venues abbreviate Group: the same layer on both sides
    assert one("LATAM Airlines Group S.A.", "CL").status == "linked"
