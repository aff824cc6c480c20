import { useEffect, useState } from 'preact/hooks';
import { api, CONTRIBUTION_KINDS, type Campaign, type ContributionKind } from '../../app/api.js';
import { Field, Form, LiveRegion, PageTitle, RequireSignIn, Select, TextArea, useForm } from '../../app/components.js';
import { t } from '../../app/i18n.js';
import type { MessageKey } from '../../app/messages.js';
import { navigate } from '../../app/router.js';
import { useSession } from '../../app/session.js';

/**
 * #/contributions/nouvelle: what is sent (dalles, the vector PCRS in GML or another format, business
 * data and the dataset it fills), for which organisation, surveyed when and by whom; then its page
 * takes the files.
 */
export default function NewContribution() {
  return (
    <section class="page contribution-new">
      <PageTitle text={t('contributionNew.title')} />
      <RequireSignIn returnTo="/contributions/nouvelle">
        <ContributionForm />
      </RequireSignIn>
    </section>
  );
}

function ContributionForm() {
  const s = useSession();
  const form = useForm();
  const orgs = (s.user?.organisations ?? []).filter((o) => o.status === 'active');
  const [kind, setKind] = useState<ContributionKind>('vector');
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [organisation, setOrganisation] = useState(orgs[0]?.slug ?? '');
  const [surveyedOn, setSurveyedOn] = useState('');
  const [producer, setProducer] = useState('');
  // Business data: the dataset, who reads it.
  const [dataset, setDataset] = useState('');
  const [datasetTitle, setDatasetTitle] = useState('');
  const [visibility, setVisibility] = useState<'restricted' | 'public'>('restricted');
  const [readers, setReaders] = useState('');
  // Vector: CNIG values for objects that carry none (a DXF).
  const [thematique, setThematique] = useState('');
  const [qualite, setQualite] = useState('');
  const [precision, setPrecision] = useState('');
  // The campaigns this organisation delivers now (as their contractor), for this kind of data.
  const [campaigns, setCampaigns] = useState<Campaign[]>([]);
  const [campaign, setCampaign] = useState('');
  useEffect(() => {
    api.campaigns().then((r) => setCampaigns(r.campaigns), () => setCampaigns([]));
  }, []);
  const deliverable = campaigns.filter(
    (c) => c.contractor?.slug === organisation && ['ordered', 'in-acquisition', 'delivered'].includes(c.status) && ((kind === 'raster' && c.kind !== 'vector') || (kind === 'vector' && c.kind !== 'ortho')),
  );
  if (orgs.length === 0) return <p class="notice info">{t('contributionNew.noOrganisation')}</p>;
  const submit = () => {
    const local: Record<string, string> = {};
    if (!title.trim()) local['title'] = t('contributionNew.needTitle');
    if (kind === 'business' && !/^[a-z0-9][a-z0-9-]{2,62}$/.test(dataset.trim())) local['business.dataset'] = t('contributionNew.needDataset');
    const defaults = { ...(thematique.trim() ? { thematique: thematique.trim() } : {}), ...(qualite.trim() ? { qualiteCategorisation: qualite.trim() } : {}), ...(precision.trim() ? { precisionPlanimetrique: precision.trim() } : {}) };
    void form.run(async () => {
      const c = await api.createContribution({
        kind,
        title: title.trim(),
        organisation,
        ...(description.trim() ? { description: description.trim() } : {}),
        ...(surveyedOn ? { surveyedOn } : {}),
        ...(producer.trim() ? { producer: producer.trim() } : {}),
        ...(kind === 'business'
          ? { business: { dataset: dataset.trim(), title: datasetTitle.trim() || title.trim(), visibility, readers: readers.split(',').map((r) => r.trim()).filter(Boolean) } }
          : {}),
        ...(kind === 'vector' && Object.keys(defaults).length ? { attributeDefaults: defaults } : {}),
        ...(campaign && deliverable.some((c) => c.slug === campaign) ? { campaign } : {}),
      });
      navigate(`/contributions/${c.id}`);
    }, local);
  };
  return (
    <Form onSubmit={submit} label={t('contributionNew.title')}>
      <Select label={t('contributions.kind')} name="kind" value={kind} options={CONTRIBUTION_KINDS.map((k) => ({ value: k, label: t(`contribution.kindLong.${k}` as MessageKey) }))} onChange={setKind} />
      {kind === 'vector' ? <p class="hint">{t('contributionNew.formatsHint')}</p> : null}
      <Field label={t('contributionNew.titleLabel')} name="title" value={title} onInput={setTitle} required error={form.fieldError('title')} hint={t('contributionNew.titleHint')} />
      <TextArea label={t('contributionNew.description')} name="description" value={description} onInput={setDescription} error={form.fieldError('description')} />
      <Select label={t('contributions.organisation')} name="organisation" value={organisation} options={orgs.map((o) => ({ value: o.slug, label: o.name }))} onChange={setOrganisation} error={form.fieldError('organisation')} />
      {deliverable.length > 0 ? (
        <Select
          label={t('contributionNew.campaign')}
          name="campaign"
          value={campaign}
          options={[{ value: '', label: t('contributionNew.noCampaign') }, ...deliverable.map((c) => ({ value: c.slug, label: c.title }))]}
          onChange={setCampaign}
          error={form.fieldError('campaign')}
        />
      ) : null}
      {deliverable.length > 0 ? <p class="hint">{t('contributionNew.campaignHint')}</p> : null}
      <Field label={t('contributionNew.surveyedOn')} name="surveyedOn" type="date" value={surveyedOn} onInput={setSurveyedOn} error={form.fieldError('surveyedOn')} />
      <Field label={t('contributionNew.producer')} name="producer" value={producer} onInput={setProducer} error={form.fieldError('producer')} hint={t('contributionNew.producerHint')} />
      {kind === 'business' ? (
        <fieldset>
          <legend>{t('contribution.dataset')}</legend>
          <Field label={t('contributionNew.datasetId')} name="dataset" value={dataset} onInput={setDataset} required error={form.fieldError('business.dataset')} hint={t('contributionNew.datasetIdHint')} />
          <Field label={t('contributionNew.datasetTitle')} name="datasetTitle" value={datasetTitle} onInput={setDatasetTitle} error={form.fieldError('business.title')} />
          <Select
            label={t('contributionNew.visibility')}
            name="visibility"
            value={visibility}
            options={[
              { value: 'restricted', label: t('contributionNew.visibilityRestricted') },
              { value: 'public', label: t('contributionNew.visibilityPublic') },
            ]}
            onChange={setVisibility}
          />
          {visibility === 'restricted' ? <Field label={t('contributionNew.readers')} name="readers" value={readers} onInput={setReaders} error={form.fieldError('business.readers')} hint={t('contributionNew.readersHint')} /> : null}
        </fieldset>
      ) : null}
      {kind === 'vector' ? (
        <fieldset>
          <legend>{t('contributionNew.defaults')}</legend>
          <Field label={t('contributionNew.thematique')} name="thematique" value={thematique} onInput={setThematique} error={form.fieldError('attributeDefaults.thematique')} />
          <Field label={t('contributionNew.qualite')} name="qualiteCategorisation" value={qualite} onInput={setQualite} error={form.fieldError('attributeDefaults.qualiteCategorisation')} />
          <Field label={t('contributionNew.precision')} name="precisionPlanimetrique" value={precision} onInput={setPrecision} error={form.fieldError('attributeDefaults.precisionPlanimetrique')} />
        </fieldset>
      ) : null}
      <LiveRegion message={form.message} />
      <button type="submit" class="primary" disabled={form.busy}>
        {t('contributionNew.submit')}
      </button>
    </Form>
  );
}
